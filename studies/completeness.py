"""Study completeness: a study is complete once no new instance arrived for
``LUMEN_STUDY_STABLE_SECONDS`` (Orthanc's "stable study"); ``signals.study_completed`` then
fires, once per quiet period. A later instance re-opens the study and it fires again later.

How, without one task per instance and without two workers ever firing twice:

- The funnel's counter UPDATE (indexsql.count_instance) sets ``Study.completion_due_at`` to
  now + stable time only when it is null, and says whether it did. Only then does the funnel
  schedule a check, after commit, due at that time: a 500-file transfer enqueues one check.
- A check acts only while ``completion_due_at`` still equals the due time it was scheduled
  for; a stale or duplicate check returns without doing anything. If an instance arrived less
  than the stable time ago, it moves the due time to last_received_at + stable time (a
  conditional UPDATE: one check wins) and schedules itself for then.
- Otherwise it claims the completion with ``UPDATE … SET completion_due_at = NULL,
  completed_at = now WHERE completion_due_at = <due> AND last_received_at = <seen>``, which
  exactly one worker can change, and sends ``study_completed`` in the same transaction: what
  receivers write (worklist entry, webhook deliveries) commits with the completion or not at
  all. A receiver that raises rolls the completion back; the sweeper tries again.
- A check lost on the way (the file broker loses ETA tasks held by a worker that dies; the
  broker may be down when the funnel enqueues) is caught by ``sweep_overdue``, which Celery
  beat runs every ``LUMEN_COMPLETION_SWEEP_SECONDS``.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studies.models import Study
from studies.signals import study_completed

logger = logging.getLogger(__name__)


def schedule_completion_check(*, study_id: int, due: datetime) -> None:
    """Enqueue the check of a completion period the caller has just opened, once its transaction commits."""
    # robust: a broker hiccup must not turn a stored instance into an error; the sweeper catches up.
    transaction.on_commit(partial(_enqueue, study_id, due), robust=True)


def _enqueue(study_id: int, due: datetime) -> None:
    from studies.tasks import check_completion

    check_completion.apply_async((study_id, due.isoformat()), eta=due)


def study_check_completion(*, study_id: int, due: datetime) -> bool:
    """Fire ``study_completed`` if the study has been quiet for the stable time; True if this call fired it.

    Safe to run twice and from several workers at once (see the module docstring).
    """
    stable = timedelta(seconds=settings.LUMEN_STUDY_STABLE_SECONDS)
    for _ in range(5):  # each turn of the loop means an instance arrived while we looked
        seen = Study.objects.filter(pk=study_id, completion_due_at=due).values_list("last_received_at", flat=True).first()
        if seen is None:
            return False  # gone, completed already, or another check holds a later due time
        now = timezone.now()
        quiet_at = seen + stable
        if now < quiet_at:
            # Still receiving: look again once it can be quiet. Only the check that moves the due time goes on.
            if Study.objects.filter(pk=study_id, completion_due_at=due).update(completion_due_at=quiet_at):
                transaction.on_commit(partial(_enqueue, study_id, quiet_at), robust=True)
            return False
        with transaction.atomic():
            claimed = Study.objects.filter(pk=study_id, completion_due_at=due, last_received_at=seen).update(
                completion_due_at=None, completed_at=now
            )
            if claimed:
                study = Study.objects.select_related("patient").get(pk=study_id)
                study_completed.send(sender=Study, study=study)
                logger.info("study %s is complete (%d instances)", study.study_instance_uid, study.number_of_study_related_instances)
                return True
    return False


def sweep_overdue(*, now: datetime | None = None) -> int:
    """Run the checks that should have run a sweep interval ago and did not; returns how many fired."""
    now = now or timezone.now()
    late = now - timedelta(seconds=settings.LUMEN_COMPLETION_SWEEP_SECONDS)
    overdue = Study.objects.filter(completion_due_at__lte=late).values_list("pk", "completion_due_at")
    fired = 0
    for study_id, due in list(overdue[:1000]):
        try:
            fired += study_check_completion(study_id=study_id, due=due)
        except Exception:  # one study's failing receiver must not stop the others
            logger.exception("completion check of study %s failed", study_id)
    return fired
