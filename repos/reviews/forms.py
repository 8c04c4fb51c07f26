"""Forms of the discussion pages (validation of what browsers post; services re-check)."""
from __future__ import annotations

from django import forms

from repos.reviews.services.discussions import MAX_COMMENT_LENGTH, MAX_TITLE_LENGTH, MIN_TITLE_LENGTH


class DiscussionFilterForm(forms.Form):
    type = forms.ChoiceField(choices=[("", "All"), ("discussion", "Discussions"), ("pull_request", "Pull requests")],
                             required=False)
    status = forms.ChoiceField(choices=[("open", "Open"), ("closed", "Closed"), ("all", "All")], required=False)
    search = forms.CharField(max_length=200, required=False)
    author = forms.CharField(max_length=150, required=False)
    p = forms.IntegerField(min_value=0, max_value=100_000, required=False)


class NewDiscussionForm(forms.Form):
    title = forms.CharField(min_length=MIN_TITLE_LENGTH, max_length=MAX_TITLE_LENGTH)
    description = forms.CharField(required=False, max_length=MAX_COMMENT_LENGTH,
                                  widget=forms.Textarea(attrs={"rows": 8}))


class CommentForm(forms.Form):
    comment = forms.CharField(max_length=MAX_COMMENT_LENGTH, widget=forms.Textarea(attrs={"rows": 4}))
    # Inline comments: a file line (path + line + side) or a tensor (path + tensor); replies: thread.
    path = forms.CharField(max_length=1024, required=False)
    line = forms.IntegerField(min_value=1, required=False)
    side = forms.ChoiceField(choices=[("new", "new"), ("old", "old")], required=False)
    tensor = forms.CharField(max_length=1024, required=False)
    thread = forms.IntegerField(min_value=1, required=False)
