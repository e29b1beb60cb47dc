"""The state machine: every transition it forbids raises, through the services and through a
direct ``save()``; a signed version cannot be changed (model and database); an addendum keeps
the original text."""
from itertools import product

import pytest
from django.db import DatabaseError, transaction

from reports import services, workflow
from reports.models import Report, ReportVersion
from reports.workflow import InvalidTransition, SignedVersionLocked
from tests.reports.conftest import FINDINGS, sign, write

pytestmark = pytest.mark.django_db

FORBIDDEN = [(a, b) for a, b in product(workflow.STATUSES, repeat=2) if a != b and b not in workflow.TRANSITIONS[a]]


def test_the_table_forbids_what_the_issue_forbids():
    assert (workflow.FINAL, workflow.IN_PROGRESS) in FORBIDDEN
    assert (workflow.UNREAD, workflow.FINAL) in FORBIDDEN  # never final without being written
    assert (workflow.IN_PROGRESS, workflow.AMENDED) in FORBIDDEN  # draft cannot become amended
    assert (workflow.FINAL, workflow.CANCELLED) in FORBIDDEN
    assert not workflow.TRANSITIONS[workflow.CANCELLED]


@pytest.mark.parametrize("old,new", FORBIDDEN)
def test_every_forbidden_transition_raises_on_save(report, radiologist, old, new):
    # Put the row in ``old`` without the guard (a conditional UPDATE, as the services do), then
    # try the forbidden step through the model.
    fields = {"status": old, "holder": radiologist, "final_at": report.complete_at, "cancel_reason": "x"}
    Report.objects.filter(pk=report.pk).update(**fields)
    loaded = Report.objects.get(pk=report.pk)
    loaded.status = new
    with pytest.raises(InvalidTransition):
        loaded.save()
    assert Report.objects.get(pk=report.pk).status == old


def test_a_new_report_starts_unread(study):
    with pytest.raises(InvalidTransition):
        Report(study=study, status=workflow.FINAL, complete_at=study.created_at).save()


def test_signing_a_final_report_again_raises(final_report, radiologist):
    with pytest.raises(InvalidTransition):
        sign(final_report, radiologist)
    with pytest.raises(InvalidTransition):
        sign(final_report, radiologist, kind="preliminary")


def test_a_final_text_cannot_be_written_again(final_report, radiologist):
    with pytest.raises(InvalidTransition):
        write(final_report, radiologist, findings="changed after the fact")
    assert list(final_report.versions.values_list("kind", flat=True)) == ["final"]


def test_an_unclaimed_report_cannot_be_signed(report, radiologist):
    with pytest.raises(workflow.NotAllowed):
        sign(report, radiologist)


def test_an_addendum_is_refused_before_final(claimed, radiologist):
    write(claimed, radiologist)
    sign(claimed, radiologist, kind="preliminary")
    with pytest.raises(InvalidTransition):
        services.report_add_addendum(report_id=claimed.pk, user=radiologist, text="more", password="rita-password-123")


def test_a_final_report_cannot_be_cancelled_or_claimed(final_report, radiologist, admin_user):
    with pytest.raises(InvalidTransition):
        services.report_cancel(report_id=final_report.pk, by=admin_user, reason="oops")
    with pytest.raises(InvalidTransition):
        services.report_assign(report_id=final_report.pk, by=admin_user, username=radiologist.username)


def test_a_cancelled_report_goes_nowhere(claimed, radiologist):
    services.report_cancel(report_id=claimed.pk, by=radiologist, reason="wrong patient")
    with pytest.raises(InvalidTransition):
        write(claimed, radiologist)
    claimed.refresh_from_db()
    assert (claimed.status, claimed.cancel_reason) == ("cancelled", "wrong patient")


def test_cancelling_needs_a_reason(claimed, radiologist):
    with pytest.raises(workflow.ReportError):
        services.report_cancel(report_id=claimed.pk, by=radiologist, reason="  ")


def test_draft_preliminary_final_keeps_each_signed_version(claimed, radiologist):
    write(claimed, radiologist, findings="first look")
    sign(claimed, radiologist, kind="preliminary")
    write(claimed, radiologist, findings="after comparison")
    sign(claimed, radiologist, kind="final")
    versions = list(claimed.versions.order_by("number").values_list("kind", "sections__findings"))
    assert versions == [("preliminary", "first look"), ("final", "after comparison")]
    claimed.refresh_from_db()
    assert claimed.status == "final" and claimed.final_at and claimed.final_by == radiologist


def test_a_signed_version_cannot_be_changed_by_the_model(final_report):
    version = final_report.versions.get()
    version.sections = {"findings": "rewritten"}
    with pytest.raises(SignedVersionLocked):
        version.save()
    with pytest.raises(SignedVersionLocked):
        version.delete()
    assert final_report.versions.get().section_text("findings") == FINDINGS


def test_a_signed_version_cannot_be_changed_in_the_database(final_report):
    with pytest.raises(DatabaseError, match="signed report version"):
        with transaction.atomic():
            ReportVersion.objects.filter(report=final_report).update(sections={"findings": "rewritten"})
    assert final_report.versions.get().section_text("findings") == FINDINGS


def test_an_addendum_keeps_the_original(final_report, radiologist, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.report_add_addendum(report_id=final_report.pk, user=radiologist, text="Also: a rib fracture.", password="rita-password-123")
        services.report_add_addendum(report_id=final_report.pk, user=radiologist, text="Second note.", password="rita-password-123")
    final_report.refresh_from_db()
    assert final_report.status == "amended"
    rows = list(final_report.versions.order_by("number").values_list("kind", "sections__findings", "text"))
    assert rows == [("final", FINDINGS, ""), ("addendum", None, "Also: a rib fracture."), ("addendum", None, "Second note.")]
    assert all(v.signed_at for v in final_report.versions.all())
