"""Input of the account pages: shapes and field errors only (the rules are in services)."""
from __future__ import annotations

from django import forms

from accounts.roles import ROLES

ROLE_CHOICES = [("", "No role (sees only what is shared)")] + [(role, role) for role in ROLES]


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app", max_length=8, min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "pattern": "[0-9 ]*"}),
    )

    def clean_code(self):
        code = self.cleaned_data["code"].replace(" ", "")
        if not code.isdigit():
            raise forms.ValidationError("Enter the digits your app shows.")
        return code


class InviteForm(forms.Form):
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES, required=False)

    def clean_role(self):
        return self.cleaned_data["role"] or None


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES, required=False)

    def clean_role(self):
        return self.cleaned_data["role"] or None


class UserSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    role = forms.ChoiceField(choices=[("", "Any role"), ("none", "No role")] + [(r, r) for r in ROLES], required=False)
