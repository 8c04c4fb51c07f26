"""Forms of the account pages: sign-up, profile, organizations, members, access tokens.

Forms only parse and validate input; the writes happen in the services they feed
(`accounts.services.users`, `accounts.services.orgs`, `accounts.services.tokens`).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AccessToken, Membership, TokenScope, User
from accounts.names import namespace_error

_NAME_ATTRS = {"autocomplete": "off", "spellcheck": "false", "pattern": r"[A-Za-z0-9_.\-]+"}


def clean_namespace(value: str, kind: str) -> str:
    value = value.strip()
    if reason := namespace_error(value, kind=kind):
        raise ValidationError(reason)
    return value


class SignupForm(forms.Form):
    username = forms.CharField(label="Username", max_length=96,
                               widget=forms.TextInput(attrs={**_NAME_ATTRS, "autofocus": True}),
                               help_text="Your namespace: your repositories live under /username/.")
    email = forms.EmailField(label="Email", help_text="Used for password resets only.")
    password1 = forms.CharField(label="Password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label="Confirm password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_username(self) -> str:
        return clean_namespace(self.cleaned_data["username"], "user")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords do not match.")
        elif p1:
            probe = User(username=data.get("username", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(p1, probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["fullname", "email"]
        labels = {"fullname": "Full name", "email": "Email"}


class OrganizationForm(forms.Form):
    name = forms.CharField(label="Organization name", max_length=96,
                           widget=forms.TextInput(attrs={**_NAME_ATTRS, "autofocus": True}),
                           help_text="The namespace of its repositories: /name/repo.")
    fullname = forms.CharField(label="Full name", max_length=150, required=False)

    def clean_name(self) -> str:
        return clean_namespace(self.cleaned_data["name"], "organization")


class MemberAddForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices, initial=Membership.Role.READ)


EXPIRY_CHOICES = [("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]
# The three levels of a fine-grained scope (`accounts.permissions.SCOPE_LEVEL`).
SCOPE_ACCESS_CHOICES = [
    (TokenScope.Access.READ, "Read: download and browse"),
    (TokenScope.Access.WRITE, "Write: contents and settings"),
    (TokenScope.Access.ADMIN, "Admin: also delete, rename, transfer, collaborators, history rewrite"),
]
SCOPE_ACCESS_HELP = ("Write covers commits, branches, tags, pull requests, visibility and gating; admin also "
                     "deletes, renames and transfers repositories, manages collaborators and organization "
                     "members, rewrites history and exports audit logs.")


class TokenCreateForm(forms.Form):
    """A new token. Fine-grained tokens name their scopes: repositories, organizations and the
    user's own namespace, all with one access level."""

    name = forms.CharField(label="Token name", max_length=100,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}))
    role = forms.ChoiceField(label="Type", choices=AccessToken.Role.choices, initial=AccessToken.Role.READ,
                             widget=forms.RadioSelect)
    expires = forms.ChoiceField(label="Expiration", choices=EXPIRY_CHOICES, required=False)
    scope_access = forms.ChoiceField(label="Access on the chosen scopes", choices=SCOPE_ACCESS_CHOICES,
                                     initial=TokenScope.Access.READ, required=False, widget=forms.RadioSelect,
                                     help_text=SCOPE_ACCESS_HELP)
    scope_user = forms.BooleanField(label="All my personal repositories", required=False)
    scope_orgs = forms.MultipleChoiceField(label="Organizations", required=False,
                                           widget=forms.CheckboxSelectMultiple)
    scope_repos = forms.MultipleChoiceField(label="Repositories", required=False,
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, orgs: list[str], repos: list[tuple[str, str]], **kwargs: Any) -> None:
        """`orgs`: organization names; `repos`: (value "type:ns/name", label) pairs."""
        super().__init__(*args, **kwargs)
        self.fields["scope_orgs"].choices = [(o, o) for o in orgs]
        self.fields["scope_repos"].choices = repos

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("role") == AccessToken.Role.FINE_GRAINED:
            if not (data.get("scope_user") or data.get("scope_orgs") or data.get("scope_repos")):
                raise ValidationError("A fine-grained token needs at least one repository, organization or "
                                      "your personal namespace.")
        return data

    def expires_at(self) -> Any:
        days = self.cleaned_data.get("expires")
        return timezone.now() + timedelta(days=int(days)) if days else None

    def scopes(self) -> list[dict[str, str]]:
        """The chosen scopes in the token API's shape (`{"type", "name", "access"}`)."""
        data = self.cleaned_data
        if data.get("role") != AccessToken.Role.FINE_GRAINED:
            return []
        access = data.get("scope_access") or TokenScope.Access.READ
        scopes = [{"type": "user", "name": "", "access": access}] if data.get("scope_user") else []
        scopes += [{"type": "org", "name": org, "access": access} for org in data.get("scope_orgs", [])]
        for value in data.get("scope_repos", []):
            repo_type, _, repo_id = value.partition(":")
            scopes.append({"type": repo_type, "name": repo_id, "access": access})
        return scopes


class CollaboratorForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    role = forms.ChoiceField(label="Role", choices=[("read", "read"), ("write", "write"), ("admin", "admin")],
                             initial="read")
