"""The worklist's answer to ``studies.signals.study_completed`` (the archive's announcement that a
study has been quiet for LUMEN_STUDY_STABLE_SECONDS). The work itself is ``services.worklist_enter``.

It runs inside the transaction that marks the study complete (studies/completeness.py), so an
error here is not swallowed: it rolls the completion back and the completeness sweeper tries again.
"""
from __future__ import annotations


def study_completed(sender, study, **kwargs) -> None:
    from reports.services import worklist_enter

    worklist_enter(study=study)
