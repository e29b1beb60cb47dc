from django.urls import path

from audit import views

urlpatterns = [
    path("", views.audit_search, name="audit-search"),
    path("export.csv", views.audit_export, name="audit-export"),
]
