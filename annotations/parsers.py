"""The request body of the annotation endpoints: JSON, read with a size limit.

DRF's JSONParser reads the whole body whatever its size (Django's DATA_UPLOAD_MAX_MEMORY_SIZE
only guards ``request.body`` and forms), and a deeply nested array makes ``json`` raise
RecursionError, which DRF does not catch (a 500). This parser answers 413 and 400 instead.
"""
from __future__ import annotations

import json

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

MAX_BODY_BYTES = 128 * 1024  # a 64 KB annotation (services.MAX_DATA_BYTES) with room for escapes


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The request body is larger than {MAX_BODY_BYTES // 1024} KB."
    default_code = "too_large"


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        body = stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLarge()
        try:
            return json.loads(body.decode(encoding), parse_constant=strict_constant)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise ParseError(f"JSON parse error - {exc}"[:300]) from None
