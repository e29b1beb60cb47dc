"""A session request loads the session and its person (with their role) in one query once the
process knows whose the session is (accounts/sessions.py); nothing about the person is kept
from one request to the next, so every change to them counts on the very next request."""
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import REFERRER, set_role
from studies.ingest import Origin, ingest_file
from studies.models import Instance
from tests.conftest import write_dicom

pytestmark = pytest.mark.django_db

FRAMES_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


@pytest.fixture
def pool_instance(tmp_path) -> Instance:
    """An image received over DICOM: in the reading pool Rita reads."""
    assert ingest_file(write_dicom(tmp_path / "ct.dcm", PatientID="POOL-1"), origin=Origin(calling_ae_title="CT1")).ok
    return Instance.objects.select_related("series__study").get()


@pytest.fixture
def rita_browser(radiologist) -> Client:
    browser = Client()
    browser.force_login(radiologist)
    return browser


def frame_url(instance: Instance) -> str:
    series = instance.series
    return reverse("dicomweb:frames", args=[series.study.study_instance_uid, series.series_instance_uid, instance.sop_instance_uid, "1"])


def studies_found(browser: Client) -> tuple[int, int | None]:
    """The status of a DICOMweb study search and how many studies it found."""
    answer = browser.get(reverse("dicomweb:studies"), HTTP_ACCEPT="application/dicom+json")
    return answer.status_code, len(answer.json()) if answer.status_code == 200 else None


def test_a_viewer_frame_request_runs_two_queries_the_session_with_its_person_and_the_instance(rita_browser, pool_instance):
    assert rita_browser.get(frame_url(pool_instance), HTTP_ACCEPT=FRAMES_ACCEPT).status_code == 200  # also audited

    with CaptureQueriesContext(connection) as queries:
        assert rita_browser.get(frame_url(pool_instance), HTTP_ACCEPT=FRAMES_ACCEPT).status_code == 200

    assert len(queries) == 2
    assert '"django_session"' in queries[0]["sql"] and '"auth_group"' in queries[0]["sql"]


def test_a_deactivated_person_is_refused_on_the_next_request(rita_browser, radiologist, pool_instance):
    assert studies_found(rita_browser) == (200, 1)
    radiologist.is_active = False
    radiologist.save()

    assert studies_found(rita_browser)[0] == 401


def test_a_new_role_counts_on_the_next_request(rita_browser, radiologist, pool_instance):
    assert rita_browser.get(frame_url(pool_instance), HTTP_ACCEPT=FRAMES_ACCEPT).status_code == 200
    set_role(radiologist, REFERRER)  # no longer reads the pool

    assert rita_browser.get(frame_url(pool_instance), HTTP_ACCEPT=FRAMES_ACCEPT).status_code == 404
    assert studies_found(rita_browser) == (200, 0)


def test_a_password_changed_elsewhere_ends_the_session(rita_browser, radiologist, pool_instance):
    assert studies_found(rita_browser) == (200, 1)
    radiologist.set_password("a-new-password-456")
    radiologist.save()

    assert studies_found(rita_browser)[0] == 401


def test_a_session_logged_out_elsewhere_is_refused_though_the_process_knew_its_key(radiologist, pool_instance):
    browser = Client()
    browser.force_login(radiologist)
    other_tab = Client()
    other_tab.cookies[settings.SESSION_COOKIE_NAME] = browser.cookies[settings.SESSION_COOKIE_NAME].value
    assert studies_found(other_tab) == (200, 1)
    browser.logout()  # deletes the session row

    assert studies_found(other_tab)[0] == 401


def test_an_expired_session_is_refused(rita_browser, pool_instance):
    from django.contrib.sessions.models import Session

    assert studies_found(rita_browser) == (200, 1)
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))

    assert studies_found(rita_browser)[0] == 401


def test_a_session_key_given_to_someone_else_answers_as_that_person(radiologist, alice, pool_instance):
    """Never the case with Django's login (a new person gets a new key), but the session's own
    content decides, never what the process remembered about the key."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.models import Session

    browser = Client()
    browser.force_login(radiologist)
    assert studies_found(browser) == (200, 1)
    session = browser.session
    session.update({SESSION_KEY: str(alice.pk), BACKEND_SESSION_KEY: session[BACKEND_SESSION_KEY], HASH_SESSION_KEY: alice.get_session_auth_hash()})
    session.save()
    assert Session.objects.count() == 1

    assert studies_found(browser) == (200, 0)  # Alice, a referrer, does not read the pool
