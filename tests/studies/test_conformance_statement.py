"""docs/conformance.md says what the code does: the listener's presentation contexts, the
Q/R models and the DICOMweb routes, checked against the code itself (not the generator)."""
from __future__ import annotations

import re
import shutil

import pytest
from django.core.management import CommandError, call_command
from pynetdicom.sop_class import Verification

from studies.dicomweb import urls as dicomweb_urls
from studies.dimse.find import QUERY_RETRIEVE_MODELS
from studies.dimse.limits import AssociationCounts
from studies.dimse.server import ListenerConfig, build_ae
from studies.management.commands.conformance_statement import DOCUMENT

# UIDs the statement may name that are not presentation contexts: the DICOM Application
# Context Name (PS3.7 A.2.1) and pynetdicom's Implementation Class UID.
NOT_CONTEXTS = {"1.2.840.10008.3.1.1.1", "1.2.826.0.1.3680043.9.3811.3.0.4"}
UID_IN_BACKTICKS = re.compile(r"`([12](?:\.\d+){3,})`")  # DICOM UIDs are rooted at 1 (ISO) or 2 (joint)


@pytest.fixture(scope="module")
def statement() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def contexts() -> list:
    return list(build_ae(ListenerConfig.from_settings(), AssociationCounts([0])).supported_contexts)


def listed_uids(statement: str) -> set[str]:
    return set(UID_IN_BACKTICKS.findall(statement))


def test_every_sop_class_the_listener_accepts_is_listed_and_no_other(statement, contexts):
    accepted = {str(cx.abstract_syntax) for cx in contexts}
    transfer_syntaxes = {str(ts) for cx in contexts for ts in cx.transfer_syntax}

    listed = listed_uids(statement)

    assert accepted - listed == set(), "accepted but not in docs/conformance.md"
    assert listed - accepted - transfer_syntaxes - NOT_CONTEXTS == set(), "in docs/conformance.md but not accepted"


def test_every_transfer_syntax_the_listener_accepts_is_listed(statement, contexts):
    transfer_syntaxes = {str(ts) for cx in contexts for ts in cx.transfer_syntax}
    table = statement.split("### 3.2 Transfer syntaxes", 1)[1].split("###", 1)[0]

    assert transfer_syntaxes == listed_uids(table)


def test_every_query_retrieve_model_and_verification_is_listed_with_its_transfer_syntaxes(statement, contexts):
    table = statement.split("### 3.1 Verification and Query/Retrieve", 1)[1].split("###", 1)[0]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| [^|]+ \| `([\d.]+)` \|.*$", table, re.M)}

    assert set(rows) == {str(uid) for uid in QUERY_RETRIEVE_MODELS | {Verification}}
    for cx in contexts:
        if str(cx.abstract_syntax) in rows:
            for ts in cx.transfer_syntax:
                assert ts.name in rows[str(cx.abstract_syntax)]


def test_every_dicomweb_route_is_listed_by_name_and_path(statement):
    for pattern in dicomweb_urls.urlpatterns:
        assert f"| `{pattern.name}` |" in statement, pattern.name
        assert f"`/dicomweb/{pattern.pattern}`" in statement, str(pattern.pattern)


def test_the_generated_tables_are_up_to_date():
    call_command("conformance_statement", "--check")


def test_a_statement_that_drifted_from_the_code_fails_the_check_until_rewritten(tmp_path):
    stale = tmp_path / "conformance.md"
    shutil.copy(DOCUMENT, stale)
    text = stale.read_text(encoding="utf-8")
    stale.write_text(text.replace("| `1.2.840.10008.5.1.4.1.1.2` |", "| `1.2.840.10008.5.1.4.1.1.2.9` |"), encoding="utf-8")

    with pytest.raises(CommandError, match="out of date"):
        call_command("conformance_statement", "--check", path=stale)
    call_command("conformance_statement", "--write", path=stale)
    assert stale.read_text(encoding="utf-8") == text
