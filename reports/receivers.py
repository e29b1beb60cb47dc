"""The worklist's answer to ``studies.signals.study_completed`` (the archive's announcement that a
study has been quiet for LUMEN_STUDY_STABLE_SECONDS). The work itself is ``services.worklist_enter``."""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def study_completed(sender, study, **kwargs) -> None:
    from reports.services import worklist_enter

    try:
        worklist_enter(study=study)
    except Exception:  # a receiver must not break the completeness check of the archive
        logger.exception("study %s could not join the worklist", getattr(study, "study_instance_uid", "?"))
