"""/api/webhooks/ (integrations/api.py)."""
from rest_framework.routers import SimpleRouter

from integrations.api import WebhookEndpointViewSet

app_name = "webhooks-api"
router = SimpleRouter()
router.register("", WebhookEndpointViewSet, basename="webhook")
urlpatterns = router.urls
