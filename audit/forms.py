from django import forms

from audit.models import Action, Event, Outcome


class AuditSearchForm(forms.Form):
    user = forms.CharField(required=False, max_length=150)
    ae = forms.CharField(required=False, max_length=16, label="Calling AE")
    event = forms.ChoiceField(required=False, choices=[("", "any")] + [(v, f"{v} {label}") for v, label in Event.choices])
    action = forms.ChoiceField(required=False, choices=[("", "any")] + list(Action.choices))
    study_uid = forms.CharField(required=False, max_length=64, label="Study UID")
    outcome = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=[("", "any")] + list(Outcome.choices))
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")

    def clean_ae(self):
        return self.cleaned_data["ae"].strip().upper()

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data
