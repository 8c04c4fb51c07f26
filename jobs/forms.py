"""The Jobs tab's fine-tuning form: the fields a person may change in the card's `fine_tune`
block (`jobs.fine_tuning.FineTuneOverrides`); ranges are checked by the card's own parser."""
from __future__ import annotations

from django import forms

from jobs.fine_tuning import FineTuneOverrides


class FineTuneForm(forms.Form):
    dataset = forms.CharField(max_length=200, required=False, help_text="namespace/name; empty: the card's")
    split = forms.CharField(max_length=100, required=False)
    method = forms.ChoiceField(choices=[("", "as the card says"), ("full", "Full"), ("lora", "LoRA")], required=False)
    epochs = forms.IntegerField(required=False)
    learning_rate = forms.FloatField(required=False)

    def overrides(self) -> FineTuneOverrides:
        data = self.cleaned_data
        return FineTuneOverrides(dataset=data["dataset"].strip() or None, split=data["split"].strip() or None,
                                 method=data["method"] or None, epochs=data["epochs"],
                                 learning_rate=data["learning_rate"])
