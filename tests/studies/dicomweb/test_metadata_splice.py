"""On PostgreSQL the metadata answer is the stored header as the database prints it with two
attributes spliced in as text (studies/dicomweb/metadata.py): for any header it must say what
decoding the header and adding them would say, in tag order (PS3.18 F.2.2)."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from pydicom.uid import generate_uid

from studies.dicomweb.metadata import _metadata_texts, _printed, metadata
from studies.models import Instance
from tests.studies.dicomweb.conftest import ingest_as

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the splice is PostgreSQL's path"),
]

BASE = "http://testserver/dicomweb/studies"
PIXEL_MODULE = {"00280010": {"vr": "US", "Value": [8]}, "00280100": {"vr": "US", "Value": [8]}}
HEADERS = {
    "keys below and above both": {"00080018": {"vr": "UI", "Value": ["1.2"]}, "00100010": {"vr": "PN"}, **PIXEL_MODULE},
    "a key past the pixel data": {**PIXEL_MODULE, "FFFAFFFA": {"vr": "SQ", "Value": []}},
    "no key above the transfer syntax": {"00080016": {"vr": "UI", "Value": ["1.2"]}},
    "a nested key that sorts first": {
        "00081140": {"vr": "SQ", "Value": [{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "A{B}"}]}}]},
        "00400275": {"vr": "SQ", "Value": [{"7FE00020": {"vr": "OB"}}]},
        **PIXEL_MODULE,
    },
    "empty": {},
}


@pytest.mark.parametrize("shape", HEADERS)
def test_the_spliced_text_says_what_the_decoded_header_says(alice, make, shape):
    ingest_as(alice, make(study=generate_uid()))
    Instance.objects.update(dicom_json=HEADERS[shape])
    instances = Instance.objects.all()

    (spliced,) = _metadata_texts(_printed(instances), BASE)
    rows = instances.values_list(
        "dicom_json", "transfer_syntax_uid", "rows", "columns",
        "sop_instance_uid", "series__series_instance_uid", "series__study__study_instance_uid",
    )  # fmt: skip
    expected = metadata(rows.get(), BASE)
    assert json.loads(spliced) == expected
    assert list(json.loads(spliced)) == sorted(expected)  # tag order kept
