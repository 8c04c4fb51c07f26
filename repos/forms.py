"""Forms of the browser UI: create a repository, upload files, edit or create a text file."""
from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from repos.git.errors import InvalidPath
from repos.git.paths import normalize_folder_path, normalize_repo_path, validate_repo_name

MAX_SUMMARY = 200
MAX_DESCRIPTION = 20_000
MAX_TEXT_FILE = 1024 * 1024  # what the browser editor accepts; larger files go through upload
_HEX40 = re.compile(r"[0-9a-f]{40}")


class NewRepoForm(forms.Form):
    owner = forms.ChoiceField(label="Owner")
    name = forms.CharField(label="Name", max_length=96,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                                         "pattern": r"[A-Za-z0-9_.\-]+", "autofocus": True}))
    private = forms.BooleanField(label="Private", required=False,
                                 help_text="Only you (and members of the organization) can see it.")

    def __init__(self, *args: Any, namespaces: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [(ns, ns) for ns in namespaces]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        try:
            return validate_repo_name(name)
        except InvalidPath as exc:
            raise ValidationError(str(exc)) from exc


class CommitFields(forms.Form):
    summary = forms.CharField(label="Commit summary", max_length=MAX_SUMMARY, required=False)
    description = forms.CharField(label="Extended description", max_length=MAX_DESCRIPTION, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    pull_request = forms.BooleanField(label="Open a pull request with this commit instead of committing to the branch",
                                      required=False)

    def commit_message(self, default: str) -> tuple[str, str]:
        summary = " ".join(self.cleaned_data.get("summary", "").split()) or default
        return summary, self.cleaned_data.get("description", "").strip()


def _folder(value: str) -> str:
    value = value.strip().strip("/")
    if not value:
        return ""
    try:
        return normalize_folder_path(value)
    except InvalidPath as exc:
        raise ValidationError(str(exc)) from exc


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        if not files and self.required:
            raise ValidationError("Choose at least one file.")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class UploadForm(CommitFields):
    files = MultipleFileField(label="Files", widget=MultipleFileInput(attrs={"multiple": True}))
    folder = forms.CharField(label="Folder (optional)", max_length=1000, required=False)

    def clean_folder(self) -> str:
        return _folder(self.cleaned_data.get("folder", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        folder = data.get("folder") or ""
        paths: list[str] = []
        for f in data.get("files") or []:
            try:
                paths.append(normalize_repo_path(f"{folder}/{f.name}" if folder else f.name))
            except InvalidPath as exc:
                raise ValidationError(str(exc)) from exc
        if len(set(paths)) != len(paths):
            raise ValidationError("Two of the files have the same name.")
        data["paths"] = paths
        return data


def normalize_newlines(text: str, *, crlf: bool) -> str:
    """Browsers submit textareas with CRLF line ends; keep the file's own convention."""
    text = text.replace("\r\n", "\n")
    return text.replace("\n", "\r\n") if crlf else text


class EditFileForm(CommitFields):
    content = forms.CharField(label="Content", required=False, strip=False,
                              widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false",
                                                           "class": "code-input"}))
    parent = forms.CharField(widget=forms.HiddenInput, max_length=40)

    def clean_parent(self) -> str:
        parent = self.cleaned_data["parent"].lower()
        if not _HEX40.fullmatch(parent):
            raise ValidationError("Invalid parent commit.")
        return parent

    def clean_content(self) -> str:
        content = self.cleaned_data.get("content", "")
        if len(content.encode("utf-8")) > MAX_TEXT_FILE:
            raise ValidationError("The file is too large for the browser editor; upload it instead.")
        return content


class NewFileForm(EditFileForm):
    filename = forms.CharField(label="File name", max_length=1000,
                               widget=forms.TextInput(attrs={"spellcheck": "false", "autofocus": True}))

    def __init__(self, *args: Any, folder: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.folder = folder

    def clean_filename(self) -> str:
        name = self.cleaned_data["filename"].strip()
        try:
            return normalize_repo_path(f"{self.folder}/{name}" if self.folder else name)
        except InvalidPath as exc:
            raise ValidationError(str(exc)) from exc
