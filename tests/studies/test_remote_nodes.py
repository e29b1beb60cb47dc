"""Remote nodes: the admin's C-ECHO test and the known-nodes allow-list of the listener."""
from __future__ import annotations

import subprocess

import pytest

from studies.dimse import nodes
from studies.models import RemoteNode
from tests.conftest import free_port, require_tool
from tests.studies import test_dicomserver
from tests.studies.test_dicomserver import echoscu

pytestmark = [pytest.mark.dcmtk, pytest.mark.django_db(transaction=True)]

start_listener = test_dicomserver.start_listener


def test_the_admin_tests_a_node_with_c_echo_and_sees_the_result(admin_user, client):
    port = free_port()
    peer = subprocess.Popen([require_tool("storescp"), "-aet", "VIEWER", str(port)])
    try:
        node = RemoteNode.objects.create(ae_title="VIEWER", host="127.0.0.1", port=port)
        dead = RemoteNode.objects.create(ae_title="GONE", host="127.0.0.1", port=free_port())
        client.force_login(admin_user)
        response = client.post(
            "/admin/studies/remotenode/", {"action": "test_connection", "_selected_action": [node.pk, dead.pk]}, follow=True
        )
    finally:
        peer.terminate()
        peer.wait(timeout=10)
    shown = [str(m) for m in response.context["messages"]]
    assert f"C-ECHO to VIEWER at 127.0.0.1:{port} succeeded" in shown
    assert any(m.startswith("no association with GONE") for m in shown)


def test_with_known_nodes_required_an_unknown_modality_is_refused_and_a_registered_one_is_not(start_listener):
    RemoteNode.objects.create(ae_title="CT_SCANNER", host="127.0.0.1", port=104)
    listener = start_listener(DICOM_REQUIRE_KNOWN_NODES="true")

    assert echoscu(listener, calling_ae="CT_SCANNER").returncode == 0
    refused = echoscu(listener, calling_ae="STRANGER")
    assert refused.returncode != 0
    log = listener.log_when('association from AE "STRANGER"', "calling AE title not recognised")
    assert 'association from AE "STRANGER"' in log and "calling AE title not recognised" in log


def test_without_known_nodes_required_an_unknown_ae_gets_the_default_rights(db, settings):
    settings.DICOM_REQUIRE_KNOWN_NODES = False
    rights = nodes.rights_for("ANYONE")
    assert (rights.known, rights.store, rights.query, rights.retrieve) == (False, True, True, True)
    assert nodes.allowed_calling_aes([]) == []  # anyone may associate
    assert nodes.move_destination("ANYONE") is None  # but C-MOVE goes to registered destinations only
