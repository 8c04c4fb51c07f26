"""HTML routes of the reviews wing, included by `repos.views.urls` before its catch-alls.
Every action of a discussion page is a POST to its own URL."""
from django.urls import path, re_path

from repos.reviews.views import actions, pages

REPO = r"^(?:(?P<prefix>datasets|spaces)/)?(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+)"
D = rf"{REPO}/discussions/(?P<num>[0-9]{{1,9}})"

urlpatterns = [
    re_path(rf"{REPO}/discussions$", pages.community, name="repo-discussions"),
    re_path(rf"{REPO}/discussions/new$", pages.new_discussion, name="repo-discussion-new"),
    re_path(rf"{D}$", pages.discussion, name="repo-discussion"),
    re_path(rf"{D}/files$", pages.pull_request_files_page, name="repo-pull-request-files"),
    *[re_path(rf"{D}/{action}$", actions.discussion_action, {"action": action}) for action in actions._ACTIONS],
    re_path(rf"{REPO}/compare/(?P<spec>.+)$", pages.compare, name="repo-compare"),
    re_path(rf"{REPO}/watch$", pages.watch, name="repo-watch"),
    path("notifications", pages.notifications, name="notifications"),
    path("notifications/read", pages.notifications_read, name="notifications-read"),
]
