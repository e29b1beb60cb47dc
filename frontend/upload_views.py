"""The upload page: a drop zone whose script talks to the upload API (studies/api/uploads.py)."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

# What the browser puts in one request: a few MB keeps memory flat and progress fluid;
# a file bigger than this goes alone.
BATCH_MAX_BYTES = 16 * 1024 * 1024
BATCH_MAX_FILES = 50


@login_required
def upload_page(request):
    config = {
        "createUrl": reverse("api:upload-list"),
        "maxBytes": settings.LUMEN_UPLOAD_MAX_BYTES,
        "batchMaxBytes": BATCH_MAX_BYTES,
        "batchMaxFiles": min(BATCH_MAX_FILES, settings.DATA_UPLOAD_MAX_NUMBER_FILES or BATCH_MAX_FILES),
    }
    return render(request, "frontend/upload.html", {"upload_config": config})
