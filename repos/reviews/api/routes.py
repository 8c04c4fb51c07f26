"""Routes of the discussions API and of our review and diff endpoints (mounted under /api/ by
`repos.api.urls`). Discussion numbers are digits; comment ids 24 hex characters (any case:
the client lower-cases them)."""
from django.urls import re_path

from repos.api.patterns import ID, T
from repos.reviews.api import diffs, discussions

D = rf"^{T}/{ID}/discussions/(?P<num>[0-9]{{1,9}})"

urlpatterns = [
    re_path(rf"^{T}/{ID}/discussions$", discussions.DiscussionListApi.as_view()),
    re_path(rf"{D}$", discussions.DiscussionDetailApi.as_view()),
    re_path(rf"{D}/comment$", discussions.DiscussionCommentApi.as_view()),
    re_path(rf"{D}/comment/(?P<comment_id>[0-9A-Fa-f]{{1,32}})/edit$", discussions.CommentEditApi.as_view()),
    re_path(rf"{D}/comment/(?P<comment_id>[0-9A-Fa-f]{{1,32}})/hide$", discussions.CommentHideApi.as_view()),
    re_path(rf"{D}/title$", discussions.DiscussionTitleApi.as_view()),
    re_path(rf"{D}/status$", discussions.DiscussionStatusApi.as_view()),
    re_path(rf"{D}/merge$", discussions.PullRequestMergeApi.as_view()),
    re_path(rf"{D}/pin$", discussions.DiscussionPinApi.as_view()),
    re_path(rf"{D}/lock$", discussions.DiscussionLockApi.as_view()),
    re_path(rf"{D}/reviews$", discussions.ReviewCreateApi.as_view()),
    re_path(rf"{D}/review-requests$", discussions.ReviewRequestApi.as_view()),
    re_path(rf"{D}/threads/(?P<thread_id>[0-9]{{1,18}})/resolve$", discussions.ThreadResolveApi.as_view()),
    re_path(rf"{D}/merge-status$", discussions.MergeStatusApi.as_view()),
    re_path(rf"^{T}/{ID}/merge-rules$", discussions.MergeRulesApi.as_view()),
    re_path(rf"^{T}/{ID}/watch$", discussions.WatchApi.as_view()),
    re_path(rf"^{T}/{ID}/compare/(?P<spec>.+)$", diffs.CompareApi.as_view()),
    re_path(rf"^{T}/{ID}/tensor-diff/(?P<spec>.+)$", diffs.TensorDiffApi.as_view()),
]
