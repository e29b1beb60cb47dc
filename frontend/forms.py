"""Parsing of the study list's search box: query string in, ``StudyCriteria`` out."""
from __future__ import annotations

import re

from django import forms

from studies.search import MODALITY_RE, StudyCriteria

# The HTML date input sends ISO dates; people also paste DICOM DA values (PS3.5 6.2: YYYYMMDD).
DATE_FORMATS = ["%Y-%m-%d", "%Y%m%d"]
COMMON_MODALITIES = ["CT", "MR", "PT", "NM", "US", "CR", "DX", "MG", "XA", "RF", "OT", "SR", "SEG", "RTSTRUCT"]


class StudySearchForm(forms.Form):
    patient_name = forms.CharField(required=False, max_length=324, label="Patient name")
    patient_id = forms.CharField(required=False, max_length=64, label="Patient ID")
    birth_date = forms.DateField(required=False, input_formats=DATE_FORMATS, label="Birth date")
    date_from = forms.DateField(required=False, input_formats=DATE_FORMATS, label="Study date from")
    date_to = forms.DateField(required=False, input_formats=DATE_FORMATS, label="to")
    modality = forms.CharField(required=False, max_length=100, label="Modality")
    accession = forms.CharField(required=False, max_length=64, label="Accession")
    description = forms.CharField(required=False, max_length=256, label="Description")

    def clean_modality(self) -> list[str]:
        # "CT", "ct, mr" or "CT\MR": any of them.
        tokens = [t for t in re.split(r"[\s,\\]+", self.cleaned_data["modality"].upper()) if t]
        for token in tokens:
            if not MODALITY_RE.match(token):
                raise forms.ValidationError("A modality is a code such as CT or MR.")
        return tokens

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end of the range is before its start.")
        return cleaned

    def criteria(self) -> StudyCriteria:
        data = self.cleaned_data
        return StudyCriteria(
            patient_name=data["patient_name"],
            patient_id=data["patient_id"],
            patient_birth_date=data["birth_date"],
            study_date_from=data["date_from"],
            study_date_to=data["date_to"],
            modalities=tuple(data["modality"]),
            accession_number=data["accession"],
            study_description=data["description"],
        )
