"""Signals other apps listen to, so the archive does not import them.

``study_completed`` fires once each time a study becomes complete: no new instance arrived
for ``LUMEN_STUDY_STABLE_SECONDS``. Receivers get ``study`` (a ``studies.models.Study``).
The reports app puts the study on the worklist; integrations sends the "study.received" webhook;
the archive builds the study's DICOMweb series metadata ahead of its first viewer.
"""
from django.dispatch import Signal

study_completed = Signal()
