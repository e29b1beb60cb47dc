"""People, for admins of a RIS integration: list them, change a person's role, deactivate.

GET   /api/users/          GET /api/users/<id>/
PATCH /api/users/<id>/     {"role": "Radiologist" | "Referrer" | "Patient" | "Admin" | null, "is_active": false}
Admins only (the Admin role); everybody else gets 403. Changes go through the users page's
services (accounts/services.py), with the same rules and audit rows. Deactivating also deletes the person's API token, so a RIS
stops at once; the account stays, with its audit history.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Case, CharField, OuterRef, Subquery, Value, When
from django.db import transaction
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.filters import OrderingFilter, SearchFilter

from accounts.roles import ADMIN, ROLES, is_admin


class IsAdmin(permissions.BasePermission):
    message = "Only admins manage people."

    def has_permission(self, request, view):
        return is_admin(request.user)


class UserSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=ROLES, allow_null=True, required=False, source="lumen_role")

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "role", "is_active", "last_login", "date_joined"]
        read_only_fields = ["id", "username", "email", "first_name", "last_name", "last_login", "date_joined"]


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, IsAdmin]
    serializer_class = UserSerializer
    filter_backends = [SearchFilter, OrderingFilter]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering_fields = ["username", "date_joined", "last_login"]
    ordering = ["username"]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return users_with_role()

    def perform_update(self, serializer):
        user_update(actor=self.request.user, user=serializer.instance, request=self.request, **serializer.validated_data)


def users_with_role():
    """Every person with ``lumen_role`` annotated in one query, by accounts.roles' precedence."""
    precedence = Case(*(When(name=name, then=Value(i)) for i, name in enumerate(ROLES)))
    first_role = Group.objects.filter(user=OuterRef("pk"), name__in=ROLES).order_by(precedence).values("name")[:1]
    role = Case(When(is_superuser=True, then=Value(ADMIN)), default=Subquery(first_role), output_field=CharField())
    return get_user_model().objects.annotate(lumen_role=role)


def user_update(*, actor, user, request=None, **changes) -> None:
    """A role change and/or (de)activation through the same services as the users page
    (accounts/services.py): the same rules, one audit row per change."""
    from accounts.services import AccountError, user_change_role, user_set_active

    with transaction.atomic():
        if "lumen_role" in changes:
            try:
                user_change_role(actor=actor, user=user, role=changes["lumen_role"], request=request)
            except AccountError as exc:
                raise serializers.ValidationError({"role": str(exc)}) from None
            user.lumen_role = changes["lumen_role"]
        if "is_active" in changes:
            try:
                user_set_active(actor=actor, user=user, active=changes["is_active"], request=request)
            except AccountError as exc:
                raise serializers.ValidationError({"is_active": str(exc)}) from None
