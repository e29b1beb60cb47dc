"""The portal's "My uploads" page: a person's upload jobs, their status and their studies."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from studies import portal


@login_required
def my_uploads(request):
    return render(request, "frontend/my_uploads.html", {"rows": portal.my_uploads(request.user)})


@login_required
@require_POST
def submit_for_reading(request, job_id):
    portal.submit_for_reading(user=request.user, job_id=job_id)
    messages.success(request, "The upload is submitted for reading.")
    return redirect("my-uploads")
