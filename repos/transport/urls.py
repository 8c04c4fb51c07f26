"""Transport routes: git smart HTTP, Git LFS, and `/resolve/` file bytes (URL spaces 2 and 3 of
hub/urls.py).

Clone URLs are `/{ns}/{name}`, `/datasets/{ns}/{name}`, `/spaces/{ns}/{name}`, each with or
without `.git`; git appends `/info/refs`, `/git-upload-pack`, `/git-receive-pack`. git-lfs
always uses `{clone URL}.git/info/lfs/...` (accepted without `.git` too). Repository names
cannot end in `.git` (`accounts.names`), so stripping the suffix is unambiguous.

The Xet CAS lives under `/xet/` ("xet" is a reserved namespace), first so that no repository
route can shadow it.
"""
from django.urls import re_path

from repos.api import misc
from repos.api.patterns import ID, PREFIX
from repos.transport import git_http, lfs_http, xet_cas
from repos.transport.resolve import resolve_file

_REPO = PREFIX + r"(?P<namespace>[\w.\-]+)/(?P<name>[\w.\-]+?)(?:\.git)?"
_OID = r"(?P<oid>[0-9a-f]{64})"
_XET_KEY = r"(?P<prefix>[\w.\-]{1,64})/(?P<%s>[^/]+)"

urlpatterns = [
    re_path(rf"^xet/v1/xorb-grants/{_XET_KEY % 'xorb'}$", xet_cas.xorb_grant),
    re_path(rf"^xet/v1/xorbs/{_XET_KEY % 'xorb'}$", xet_cas.xorb_upload),
    re_path(rf"^xet/v1/chunks/{_XET_KEY % 'chunk'}$", xet_cas.chunk_dedup),
    re_path(r"^xet/v2/shards$", xet_cas.shard_upload_v2),
    re_path(r"^xet/v1/shards$", xet_cas.shard_upload),
    re_path(r"^xet/(?P<version>v1|v2)/reconstructions/(?P<file_hash>[^/]+)$", xet_cas.reconstruction),
    re_path(r"^xet/v1/fetch/(?P<xorb>[^/]+)$", xet_cas.fetch),
    re_path(r"^xet/v1/telemetry$", xet_cas.telemetry),
    re_path(rf"^{_REPO}/info/refs$", git_http.info_refs),
    re_path(rf"^{_REPO}/git-upload-pack$", git_http.upload_pack),
    re_path(rf"^{_REPO}/git-receive-pack$", git_http.receive_pack),
    re_path(rf"^{_REPO}/info/lfs/objects/batch$", lfs_http.batch),
    re_path(rf"^{_REPO}/info/lfs/objects/verify$", lfs_http.verify),
    re_path(rf"^{_REPO}/info/lfs/objects/{_OID}$", lfs_http.download),
    re_path(rf"^{_REPO}/info/lfs/locks/verify$", lfs_http.locks_verify),
    re_path(rf"^{_REPO}/info/lfs/locks(?:/(?P<rest>.*))?$", lfs_http.locks),
    re_path(rf"^lfs-upload/(?P<key>[0-9a-f]{{32}})/{_OID}$", lfs_http.upload),
    re_path(rf"^{PREFIX}{ID}/resolve/(?P<remainder>.+)$", resolve_file),
    # `/gpt2/resolve/...`: an id without a namespace (a Hub legacy id) is no repository here.
    re_path(rf"^{PREFIX}(?P<name>[\w.\-]+)/resolve/(?P<remainder>.+)$", misc.namespaceless_repo),
]
