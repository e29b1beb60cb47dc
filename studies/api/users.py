"""People, for admins of a RIS integration: list them, change a person's role, deactivate.

GET   /api/users/          GET /api/users/<id>/
PATCH /api/users/<id>/     {"role": "Radiologist" | "Referrer" | "Patient" | "Admin" | null, "is_active": false}
Admins only (the Admin role); everybody else gets 403. Role changes are audited
(audit.events.role_changed). Deactivating also deletes the person's API token, so a RIS
stops at once; the account stays, with its audit history.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Case, CharField, OuterRef, Subquery, Value, When
from django.db import transaction
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.filters import OrderingFilter, SearchFilter

from accounts.roles import ADMIN, ROLES, is_admin, role_of, set_role
from audit import events


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
        if serializer.instance == self.request.user and serializer.validated_data.get("is_active") is False:
            raise serializers.ValidationError({"is_active": "Admins cannot deactivate themselves."})
        user_update(actor=self.request.user, user=serializer.instance, request=self.request, **serializer.validated_data)


def users_with_role():
    """Every person with ``lumen_role`` annotated in one query, by accounts.roles' precedence."""
    precedence = Case(*(When(name=name, then=Value(i)) for i, name in enumerate(ROLES)))
    first_role = Group.objects.filter(user=OuterRef("pk"), name__in=ROLES).order_by(precedence).values("name")[:1]
    role = Case(When(is_superuser=True, then=Value(ADMIN)), default=Subquery(first_role), output_field=CharField())
    return get_user_model().objects.annotate(lumen_role=role)


def user_update(*, actor, user, request=None, **changes) -> None:
    """Applies a role change and/or (de)activation, auditing the role change."""
    with transaction.atomic():
        if "lumen_role" in changes:
            old, new = role_of(user), changes["lumen_role"]
            if old != new:
                set_role(user, new)
                events.role_changed(actor=actor, user=user, old_role=old, new_role=new, request=request)
            user.lumen_role = new
        if "is_active" in changes and changes["is_active"] != user.is_active:
            user.is_active = changes["is_active"]
            user.save(update_fields=["is_active"])
            if not user.is_active:
                Token.objects.filter(user=user).delete()
