"""Who hears about what happens in discussions: in-app notifications and email.

Recipients, by kind: mentioned users (`@name` in a comment) get "mention"; requested reviewers
"review_request"; a PR's author the reviews of it; watchers of the repository (writers by
default, minus those who unwatched, plus those who watch) and the discussion's participants
(its author and commenters) get new discussions, comments, status changes and merges. The
actor never notifies themself, a recipient gets one notification per event (the most specific
kind), and nobody hears about a repository they cannot read.

Mails are sent once the transaction commits, through Django's email backend; a mail server
that is down never fails the write (`fail_silently`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import WRITE, Principal, is_signed_in
from hub.http.urls import public_url
from repos.gate import can_read, users_with_level
from repos.links import RepoLinks
from repos.models import Discussion, DiscussionEvent, Notification, Repository, Watch

# A mention is `@name` not preceded by a word character, `.` or `@` (emails stay quiet).
MENTION_RE = re.compile(r"(?<![\w.@/])@([A-Za-z0-9][\w.\-]{0,95})")
MAX_MENTIONS = 50
MAX_RECIPIENTS = 1000

_PRIORITY = [Notification.Kind.MENTION, Notification.Kind.REVIEW_REQUEST, Notification.Kind.REVIEW,
             Notification.Kind.MERGE, Notification.Kind.STATUS, Notification.Kind.NEW, Notification.Kind.COMMENT]
_SUBJECT = {
    Notification.Kind.MENTION: "{actor} mentioned you in {where}",
    Notification.Kind.REVIEW_REQUEST: "{actor} asked you to review {where}",
    Notification.Kind.REVIEW: "{actor} reviewed {where}",
    Notification.Kind.MERGE: "{actor} merged {where}",
    Notification.Kind.STATUS: "{actor} changed the status of {where}",
    Notification.Kind.NEW: "{actor} opened {where}",
    Notification.Kind.COMMENT: "{actor} commented on {where}",
}


def mentioned_usernames(text: str) -> list[str]:
    """The usernames `@mentioned` in `text` (first MAX_MENTIONS, in order, deduplicated)."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text or ""):
        seen.setdefault(match.group(1).rstrip(".-"), None)
        if len(seen) >= MAX_MENTIONS:
            break
    return list(seen)


def watcher_ids(repo: Repository) -> set[int]:
    """Users who watch `repo`: its writers unless they opted out, and whoever opted in."""
    ids = users_with_level(repo, WRITE)
    for user_id, watching in Watch.objects.filter(repository=repo).values_list("user_id", "watching"):
        if watching:
            ids.add(user_id)
        else:
            ids.discard(user_id)
    return ids


def is_watching(*, user: Principal, repo: Repository) -> bool:
    if not is_signed_in(user):
        return False
    choice = Watch.objects.filter(repository=repo, user=user).values_list("watching", flat=True).first()
    if choice is not None:
        return bool(choice)
    return user.pk in users_with_level(repo, WRITE)


def watch_set(*, user: User, repo: Repository, watching: bool) -> None:
    """Watch or unwatch `repo`. The caller checked that `user` is signed in and can read it."""
    Watch.objects.update_or_create(user=user, repository=repo, defaults={"watching": watching})


def participant_ids(discussion: Discussion) -> set[int]:
    ids = set(DiscussionEvent.objects.filter(discussion=discussion, kind=DiscussionEvent.Kind.COMMENT)
              .exclude(author=None).values_list("author_id", flat=True).distinct()[:MAX_RECIPIENTS])
    if discussion.author_id is not None:
        ids.add(discussion.author_id)
    return ids


def notify(*, discussion: Discussion, event: DiscussionEvent | None, actor: Principal | None,
           targets: Iterable[tuple[int, str]]) -> list[Notification]:
    """Create the notifications (recipient id, kind) of one event and mail them on commit.
    Call inside the transaction that wrote the event."""
    actor_id = actor.pk if is_signed_in(actor) else None
    best: dict[int, str] = {}
    for user_id, kind in targets:
        if user_id == actor_id:
            continue
        current = best.get(user_id)
        if current is None or _PRIORITY.index(Notification.Kind(kind)) < _PRIORITY.index(Notification.Kind(current)):
            best[user_id] = kind
    if not best:
        return []
    repo = discussion.repository
    users = {u.pk: u for u in User.objects.filter(pk__in=list(best)[:MAX_RECIPIENTS], is_active=True)}
    if repo.private:
        users = {pk: u for pk, u in users.items() if can_read(u, repo)}
    rows = Notification.objects.bulk_create([
        Notification(recipient_id=pk, kind=best[pk], discussion=discussion, event=event,
                     actor_id=actor_id, created_at=timezone.now())
        for pk in users
    ])
    mails = [_mail(users[n.recipient_id], n, discussion, actor) for n in rows if users[n.recipient_id].email]
    if mails:
        transaction.on_commit(lambda: send_mass_mail(mails, fail_silently=True), robust=True)
    return rows


def notification_text(kind: str, *, actor: str, discussion: Discussion) -> str:
    noun = "pull request" if discussion.is_pull_request else "discussion"
    where = f"{noun} #{discussion.num} \"{discussion.title}\" on {discussion.repository.repo_id}"
    return _SUBJECT[Notification.Kind(kind)].format(actor=actor or "Someone", where=where)


def _mail(user: User, notification: Notification, discussion: Discussion,
          actor: Principal | None) -> tuple[str, str, str, list[str]]:
    name = actor.username if is_signed_in(actor) else "ModelHub"
    subject = notification_text(notification.kind, actor=name, discussion=discussion)
    url = public_url(RepoLinks(discussion.repository).discussion(discussion.num))
    noun = "pull request" if discussion.is_pull_request else "discussion"
    body = (f"{subject}.\n\n{url}\n\nYou receive this because you take part in this {noun} "
            "or watch the repository.\n")
    sender = getattr(settings, "DEFAULT_FROM_EMAIL", "webmaster@localhost")
    return subject[:200], body, sender, [user.email]


def notifications_mark_read(*, user: User, discussion: Discussion | None = None) -> int:
    """Mark `user`'s unread notifications (of one discussion, or all) read; returns how many."""
    qs = Notification.objects.filter(recipient=user, read_at=None)
    if discussion is not None:
        qs = qs.filter(discussion=discussion)
    return qs.update(read_at=timezone.now())


def audience(discussion: Discussion, kind: str) -> list[tuple[int, str]]:
    """Watchers and participants of `discussion`, each with `kind`."""
    ids = watcher_ids(discussion.repository) | participant_ids(discussion)
    return [(pk, kind) for pk in ids]


def mention_targets(repo: Repository, text: str) -> list[tuple[int, str]]:
    names = mentioned_usernames(text)
    if not names:
        return []
    ids = User.objects.filter(username__in=names, is_active=True).values_list("pk", flat=True)
    return [(pk, Notification.Kind.MENTION) for pk in ids]

