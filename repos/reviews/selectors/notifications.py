"""A user's notifications: the inbox page and the unread count of the header."""
from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
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


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at=None).count()


def notification_page(*, user: User, page: int = 0) -> NotificationPage:
    qs = (Notification.objects.filter(recipient=user)
          .select_related("actor", "discussion", "discussion__repository").order_by("-id"))
    items = list(qs[page * PAGE_SIZE:(page + 1) * PAGE_SIZE + 1])
    rows = [NotificationRow(text=notification_text(n.kind, actor=n.actor.username if n.actor else "",
                                                   discussion=n.discussion),
                            url=RepoLinks(n.discussion.repository).discussion(n.discussion.num),
                            unread=n.read_at is None, created_at=n.created_at)
            for n in items[:PAGE_SIZE]]
    return NotificationPage(rows=rows, has_next=len(items) > PAGE_SIZE, unread=unread_count(user=user))
