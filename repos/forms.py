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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (position among the uploaded files, file name, problem): shown next to each file.
        self.file_errors: list[tuple[int, str, str]] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        folder = data.get("folder") or ""
        paths: list[str] = []
        seen: set[str] = set()
        for index, f in enumerate(data.get("files") or []):
            try:
                path = normalize_repo_path(f"{folder}/{f.name}" if folder else f.name)
            except InvalidPath as exc:
                self.file_errors.append((index, f.name, str(exc)))
                continue
            if path in seen:
                self.file_errors.append((index, f.name, "Another file of this upload has the same name."))
            seen.add(path)
            paths.append(path)
        if self.file_errors:
            if len(self.file_errors) == 1:
                raise ValidationError(f"{self.file_errors[0][1]}: {self.file_errors[0][2]}")
            raise ValidationError(f"{len(self.file_errors)} files cannot be uploaded (see each file).")
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


class PathChangeForm(CommitFields):
    """Delete or move a file or folder: the commit fields and the commit the page was shown at
    (a change computed on it is refused with 412 if the branch moved since)."""

    parent = forms.CharField(widget=forms.HiddenInput, max_length=40)

    def clean_parent(self) -> str:
        parent = self.cleaned_data["parent"].lower()
        if not _HEX40.fullmatch(parent):
            raise ValidationError("Invalid parent commit.")
        return parent


class MovePathForm(PathChangeForm):
    destination = forms.CharField(label="New path", max_length=1000,
                                  widget=forms.TextInput(attrs={"spellcheck": "false", "autofocus": True,
                                                                "autocomplete": "off"}))

    def clean_destination(self) -> str:
        try:
            return normalize_repo_path(self.cleaned_data["destination"].strip().strip("/"))
        except InvalidPath as exc:
            raise ValidationError(str(exc)) from exc


class NewRefForm(forms.Form):
    """A branch or a tag, at a revision of the repository."""

    kind = forms.ChoiceField(choices=[("branch", "Branch"), ("tag", "Tag")], widget=forms.HiddenInput)
    name = forms.CharField(label="Name", max_length=255,
                           widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}))
    revision = forms.CharField(label="From", max_length=255, required=False,
                               help_text="A branch, a tag or a commit id (default: the default branch).")
    message = forms.CharField(label="Message (makes an annotated tag)", max_length=10_000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))


class RefDeleteForm(forms.Form):
    kind = forms.ChoiceField(choices=[("branch", "Branch"), ("tag", "Tag")])
    name = forms.CharField(max_length=255)


class MoveRepoForm(forms.Form):
    """Rename or transfer a repository; `confirm` repeats its current id."""

    namespace = forms.ChoiceField(label="Owner")
    name = forms.CharField(label="Name", max_length=96,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false",
                                                         "pattern": r"[A-Za-z0-9_.\-]+"}))
    confirm = forms.CharField(max_length=300)

    def __init__(self, *args: Any, namespaces: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["namespace"].choices = [(ns, ns) for ns in namespaces]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        try:
            return validate_repo_name(name)
        except InvalidPath as exc:
            raise ValidationError(str(exc)) from exc


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
