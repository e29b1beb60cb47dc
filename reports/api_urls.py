"""/api/reports/ (reports/api.py)."""
from rest_framework.routers import SimpleRouter

from reports import api

app_name = "reports-api"
router = SimpleRouter()
router.register("", api.ReportViewSet, basename="report")
urlpatterns = router.urls
