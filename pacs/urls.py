from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # Django admin's own login would skip the second factor: everyone logs in through ours.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/reports/", include("reports.api_urls")),
    path("api/webhooks/", include("integrations.api_urls")),  # admins only (integrations/api.py)
    path("api/", include("studies.api.urls")),
    path("api/", include("annotations.urls")),  # /api/studies/<uid>/annotations/, key-images/
    path("dicomweb/", include("studies.dicomweb.urls")),
    path("audit/", include("audit.urls")),
    path("", include("reports.urls")),
    path("", include("integrations.urls")),  # the admins' webhooks page
    path("", include("accounts.urls")),  # login (with the second factor), account links, the users page
    path("", include("frontend.urls")),
]

# Django's own 404/500 answer JSON under /api/ (studies/api/errors.py), HTML elsewhere.
handler404 = "studies.api.errors.page_not_found"
handler500 = "studies.api.errors.server_error"
