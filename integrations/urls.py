from django.urls import path

from integrations import views

urlpatterns = [
    path("webhooks/", views.webhook_list, name="webhook-list"),
    path("webhooks/<int:endpoint_id>/test", views.webhook_send_test, name="webhook-send-test"),
]
