"""Signing asks for the password again (and the TOTP code when the person has an authenticator),
locks the text, and a critical result reaches the referrer at once; the final report then
reaches the uploader by mail (a link, no medical content) and in the app."""
import pytest
from django.core import mail

from accounts import twofactor
from audit.models import AuditEvent
from reports import services
from reports.models import Notification
from reports.workflow import ReportError, SignatureRefused
from tests.accounts.totp import code_for
from tests.reports.conftest import FINDINGS, write

pytestmark = pytest.mark.django_db

PASSWORD = "rita-password-123"


def test_a_wrong_password_signs_nothing(claimed, radiologist):
    write(claimed, radiologist)
    with pytest.raises(SignatureRefused):
        services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password="guess")
    claimed.refresh_from_db()
    assert claimed.status == "in_progress" and claimed.versions.get().signed_at is None
    assert AuditEvent.objects.filter(action="report-sign", outcome=4, username="rita").exists()


def test_signing_is_locked_after_repeated_wrong_passwords(claimed, radiologist):
    write(claimed, radiologist)
    for _ in range(services.SIGN_FAILURE_LIMIT):
        with pytest.raises(SignatureRefused):
            services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password="guess")
    with pytest.raises(SignatureRefused, match="locked"):
        services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD)


def test_with_an_authenticator_the_code_is_asked_too(claimed, radiologist, django_capture_on_commit_callbacks):
    device = twofactor.pending_device(radiologist)
    assert twofactor.confirm_totp(radiologist, code_for(device))
    device.refresh_from_db()
    write(claimed, radiologist)
    # Without the code (a wrong one would also throttle the device: django-otp's rule, tested in accounts).
    with pytest.raises(SignatureRefused, match="authenticator"):
        services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD, totp="")
    with django_capture_on_commit_callbacks(execute=False):
        services.report_sign(
            report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD, totp=code_for(device, offset_steps=1)
        )
    claimed.refresh_from_db()
    assert claimed.status == "final"


def test_only_the_holder_signs(claimed, django_user_model):
    from tests.conftest import _person

    other = _person(django_user_model, "ravi", "Radiologist")
    write(claimed, claimed.holder)
    with pytest.raises(ReportError):
        services.report_sign(report_id=claimed.pk, user=other, kind="final", password="ravi-password-123")


def test_an_empty_report_cannot_be_signed(claimed, radiologist):
    with pytest.raises(ReportError, match="findings"):
        services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD)


def test_a_critical_result_reaches_the_referrer_at_once_and_the_communication_is_kept(
    claimed, radiologist, alice, django_capture_on_commit_callbacks
):
    write(claimed, radiologist)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_flag_critical(report_id=claimed.pk, user=radiologist)
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "urgent" in mail.outbox[0].subject.lower() and "critical" in mail.outbox[0].body and FINDINGS not in mail.outbox[0].body
    assert Notification.objects.get(recipient=alice).kind == "critical"

    with pytest.raises(ReportError, match="who was told"):
        services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD)
    services.draft_save(
        report_id=claimed.pk, user=radiologist, sections={"findings": FINDINGS}, critical=True,
        critical_told="Dr. Who by phone", critical_told_at=None,
    )
    with django_capture_on_commit_callbacks(execute=False):
        version = services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD)
    assert (version.critical, version.critical_told) == (True, "Dr. Who by phone")


def test_the_final_report_reaches_the_uploader_by_mail_and_in_the_app(claimed, radiologist, alice, settings, django_capture_on_commit_callbacks):
    settings.LUMEN_BASE_URL = "https://pacs.example.org"
    write(claimed, radiologist)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.report_sign(report_id=claimed.pk, user=radiologist, kind="preliminary", password=PASSWORD)
    assert callbacks == [] and mail.outbox == []  # a preliminary is not delivered
    with django_capture_on_commit_callbacks(execute=True):
        services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.org"]
    assert f"https://pacs.example.org/reports/{claimed.pk}/" in message.body
    for medical in (FINDINGS, "Effusion", "DOE", "CT chest", "Cough"):
        assert medical not in message.body and medical not in message.subject
    notification = Notification.objects.get(recipient=alice)
    assert (notification.kind, notification.link) == ("report-final", f"/reports/{claimed.pk}/")
    assert not Notification.objects.filter(recipient=radiologist).exists()


def test_each_addendum_is_delivered_too(final_report, radiologist, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.report_add_addendum(report_id=final_report.pk, user=radiologist, text="Rib fracture too.", password=PASSWORD)
    assert len(mail.outbox) == 1 and "addendum" in mail.outbox[0].subject.lower()
    assert Notification.objects.get(recipient=alice).kind == "report-amended"


def test_final_and_addendum_record_webhook_deliveries_in_the_signing_transaction(claimed, radiologist, django_capture_on_commit_callbacks):
    from integrations.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook", secret="s" * 32, events=["report.final", "report.amended"])
    write(claimed, radiologist)
    with pytest.raises(SignatureRefused):
        services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password="guess")
    assert not WebhookDelivery.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        services.report_sign(report_id=claimed.pk, user=radiologist, kind="final", password=PASSWORD)
        services.report_add_addendum(report_id=claimed.pk, user=radiologist, text="More.", password=PASSWORD)
    rows = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("created_at").values_list("event", "payload"))
    assert [event for event, _ in rows] == ["report.final", "report.amended"]
    payload = rows[0][1]
    assert payload["report_id"] == claimed.pk and payload["study_instance_uid"] == claimed.study.study_instance_uid
    assert payload["url"].endswith(f"/api/reports/{claimed.pk}/") and FINDINGS not in str(payload)
