"""The report's state machine, written down once. The model (``Report.save``) and the services
(``reports.services``) both ask it, so no code path can move a report where this table does
not allow.

    unread ──claim/assign──▶ in_progress ──sign preliminary──▶ preliminary ──sign final──▶ final
       ▲                        │   │                              │                       │
       └──────release───────────┘   └──────────sign final──────────┼───────────────────────┘
                                                                   │            addendum ▼
    unread / in_progress / preliminary ──cancel (with reason)──▶ cancelled      amended ⟲ addendum

After final, the text is closed: only signed addenda, each kept, each making the report "amended".
"""
from __future__ import annotations

UNREAD = "unread"
IN_PROGRESS = "in_progress"
PRELIMINARY = "preliminary"
FINAL = "final"
AMENDED = "amended"
CANCELLED = "cancelled"

STATUSES = (UNREAD, IN_PROGRESS, PRELIMINARY, FINAL, AMENDED, CANCELLED)
# Still waiting for a final read: what the worklist shows by default, and what "open" means.
OPEN = (UNREAD, IN_PROGRESS, PRELIMINARY)
# Signed text exists that the portal may show.
SIGNED = (PRELIMINARY, FINAL, AMENDED)
# The text is closed: only addenda.
CLOSED = (FINAL, AMENDED)

TRANSITIONS: dict[str, frozenset[str]] = {
    UNREAD: frozenset({IN_PROGRESS, CANCELLED}),
    IN_PROGRESS: frozenset({UNREAD, PRELIMINARY, FINAL, CANCELLED}),
    # A revised preliminary may be signed again before the final one.
    PRELIMINARY: frozenset({PRELIMINARY, FINAL, CANCELLED}),
    FINAL: frozenset({AMENDED}),
    AMENDED: frozenset({AMENDED}),
    CANCELLED: frozenset(),
}

# Version kinds.
DRAFT = "draft"
ADDENDUM = "addendum"
VERSION_KINDS = (DRAFT, PRELIMINARY, FINAL, ADDENDUM)


class ReportError(Exception):
    """A report operation that is refused; the message is for the person who asked."""


class InvalidTransition(ReportError):
    """A status change the state machine does not allow (e.g. final → in_progress)."""


class SignedVersionLocked(ReportError):
    """A signed version is never changed or deleted; write an addendum instead."""


class NotAllowed(ReportError):
    """The person may not do this to this report (not the holder, not a radiologist…)."""


class AlreadyClaimed(ReportError):
    """Someone else holds the report (or it is no longer waiting)."""


class SignatureRefused(ReportError):
    """The password (or the TOTP code) given to sign was wrong."""


def check_transition(old: str, new: str) -> None:
    """Raise InvalidTransition unless ``old → new`` is in the table (no change is always fine)."""
    if old == new:  # a save that changes other fields
        return
    if new not in TRANSITIONS.get(old, frozenset()):
        raise InvalidTransition(f"a report cannot go from {label(old)} to {label(new)}")


def allowed(old: str, new: str) -> bool:
    try:
        check_transition(old, new)
    except InvalidTransition:
        return False
    return True


def label(status: str) -> str:
    return status.replace("_", " ")
