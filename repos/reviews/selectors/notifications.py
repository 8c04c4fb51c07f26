"""A user's notifications: the inbox page and the unread count of the header."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import AccessToken, User
from repos.gate import repos_visible_to
from repos.links import RepoLinks
from repos.models import Notification
from repos.reviews.services.notifications import notification_text

PAGE_SIZE = 50


@dataclass
class NotificationRow:
    text: str
    url: str
    unread: bool
    created_at: object


@dataclass
class NotificationPage:
    rows: list[NotificationRow]
    has_next: bool
    unread: int


def _visible(user: User, token: AccessToken | None) -> QuerySet[Notification]:
    """`user`'s notifications about repositories they may read now, with this credential (a
    token scoped elsewhere, or access lost since, hides them: hidden == missing)."""
    return Notification.objects.filter(recipient=user,
                                       discussion__repository__in=repos_visible_to(user, token=token).values("pk"))


def unread_count(*, user: User, token: AccessToken | None = None) -> int:
    return _visible(user, token).filter(read_at=None).count()


def notification_page(*, user: User, token: AccessToken | None = None, page: int = 0) -> NotificationPage:
    qs = _visible(user, token).select_related("actor", "discussion", "discussion__repository").order_by("-id")
    items = list(qs[page * PAGE_SIZE:(page + 1) * PAGE_SIZE + 1])
    rows = [NotificationRow(text=notification_text(n.kind, actor=n.actor.username if n.actor else "",
                                                   discussion=n.discussion),
                            url=RepoLinks(n.discussion.repository).discussion(n.discussion.num),
                            unread=n.read_at is None, created_at=n.created_at)
            for n in items[:PAGE_SIZE]]
    return NotificationPage(rows=rows, has_next=len(items) > PAGE_SIZE, unread=unread_count(user=user, token=token))
