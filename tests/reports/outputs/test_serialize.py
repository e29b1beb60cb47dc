"""A ReportDocument survives the JSON round trip a Celery message or webhook makes."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reports.outputs.serialize import document_from_dict, document_to_dict
from tests.reports.outputs.conftest import amended

pytestmark = pytest.mark.django_db


def test_a_document_comes_back_equal_through_json_with_its_pngs(final_doc):
    doc = amended(final_doc)

    assert document_from_dict(json.loads(json.dumps(document_to_dict(doc, include_png=True)))) == doc


def test_without_pngs_the_key_images_keep_their_references_only(final_doc):
    data = json.loads(json.dumps(document_to_dict(final_doc)))
    back = document_from_dict(data)

    assert "png" not in data["key_images"][0]
    assert back.key_images[0].png == b""
    assert back == replace(final_doc, key_images=(replace(final_doc.key_images[0], png=b""),))
