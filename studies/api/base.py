"""The base of every read-only archive resource of the REST API.

Restriction to what the user may see is written here once (the NetBox way): a viewset names
the selector it starts from, and every list, detail and nested list is that selector's
queryset narrowed further. A study the user may not see is therefore missing from lists and
answers 404 exactly like a study that does not exist.
"""
from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets
from rest_framework.filters import OrderingFilter


class VisibleViewSet(viewsets.ReadOnlyModelViewSet):
    #: ``selector(user) -> QuerySet``: the rows this user may see (studies.selectors).
    selector: Callable[..., QuerySet]
    #: select_related / defer for the serializer, applied after the restriction.
    related: tuple[str, ...] = ()
    deferred: tuple[str, ...] = ()
    # UIDs contain dots, which DRF's default lookup pattern refuses.
    lookup_value_regex = r"[^/]+"
    filter_backends = [DjangoFilterBackend, OrderingFilter]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reads the model, no user
            return self.get_serializer_class().Meta.model.objects.none()
        queryset = type(self).selector(self.request.user)
        queryset = self.narrow(queryset)
        if self.related:
            queryset = queryset.select_related(*self.related)
        if self.deferred:
            queryset = queryset.defer(*self.deferred)
        return queryset

    def narrow(self, queryset: QuerySet) -> QuerySet:
        """Nested lists narrow to their parent here (which must itself be visible, or 404)."""
        return queryset
