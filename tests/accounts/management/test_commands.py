"""The operator commands of the README: `users create` and `tokens create`."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AccessToken, User
from accounts.services.tokens import token_authenticate


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_users_create_makes_a_user_who_can_log_in() -> None:
    run("users", "create", "carol", "--password", "carol-Pa55word!", "--email", "carol@example.com")
    user = User.objects.get(username="carol")
    assert user.check_password("carol-Pa55word!")
    assert user.email == "carol@example.com"
    assert not user.is_staff and not user.is_superuser


@pytest.mark.django_db
def test_users_create_admin() -> None:
    run("users", "create", "root-admin", "--password", "x-Pa55word!", "--admin")
    user = User.objects.get(username="root-admin")
    assert user.is_staff and user.is_superuser


@pytest.mark.django_db
def test_users_create_refuses_a_taken_or_invalid_name() -> None:
    run("users", "create", "dave", "--password", "dave-Pa55word!")
    with pytest.raises(CommandError):
        run("users", "create", "dave", "--password", "other-Pa55word!")
    with pytest.raises(CommandError):
        run("users", "create", "../etc", "--password", "other-Pa55word!")
    assert User.objects.filter(username="dave").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("scope", ["read", "write"])
def test_tokens_create_prints_only_a_working_token(scope: str) -> None:
    run("users", "create", "erin", "--password", "erin-Pa55word!")
    out = run("tokens", "create", "erin", "--scope", scope, "--name", "laptop")
    key = out.strip()
    assert out == key + "\n"  # the token alone, so `TOKEN=$(... tokens create ...)` works
    assert key.startswith("hf_")
    token = token_authenticate(key)
    assert token is not None and token.user.username == "erin"
    assert token.name == "laptop"
    assert token.can_write is (scope == "write")
    assert AccessToken.objects.get(pk=token.pk).key_hash != key  # only the hash is stored


@pytest.mark.django_db
def test_tokens_create_for_an_unknown_user_fails() -> None:
    with pytest.raises(CommandError, match="No user"):
        run("tokens", "create", "nobody", "--scope", "write")
    assert not AccessToken.objects.exists()
