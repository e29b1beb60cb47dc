"""Two radiologists claim the same study at the same moment, each on a real database connection
of its own (two threads, PostgreSQL or SQLite): exactly one holds it afterwards."""
import threading

import pytest
from django.db import connection

from reports import services
from reports.models import Report
from reports.workflow import AlreadyClaimed
from tests.conftest import _person

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_radiologists_claim_at_once_and_exactly_one_wins(report, radiologist, django_user_model):
    other = _person(django_user_model, "ravi", "Radiologist")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def claim(user):
        try:
            barrier.wait(timeout=10)
            outcomes[user.username] = services.report_claim(report_id=report.pk, user=user).holder_id
        except AlreadyClaimed as exc:
            outcomes[user.username] = exc
        finally:
            connection.close()  # each thread opened its own connection

    threads = [threading.Thread(target=claim, args=(user,)) for user in (radiologist, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [name for name, outcome in outcomes.items() if not isinstance(outcome, Exception)]
    losers = [name for name, outcome in outcomes.items() if isinstance(outcome, AlreadyClaimed)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    report = Report.objects.get(pk=report.pk)
    assert report.holder.username == winners[0] and report.status == "in_progress" and report.claimed_at


def test_claiming_twice_is_harmless_for_the_holder_and_refused_to_others(report, radiologist, django_user_model):
    other = _person(django_user_model, "ravi", "Radiologist")
    services.report_claim(report_id=report.pk, user=radiologist)
    assert services.report_claim(report_id=report.pk, user=radiologist).holder_id == radiologist.pk
    with pytest.raises(AlreadyClaimed):
        services.report_claim(report_id=report.pk, user=other)
