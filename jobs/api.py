"""Jobs API (ours, in the OpenAPI schema). A job is visible to exactly those who can read its
repository; for anyone else it does not exist (404).

* `GET  /api/jobs[?state=&kind=&limit=]`: jobs the caller can see, newest first;
* `GET  /api/{T}/{id}/jobs`: one repository's jobs (readers);
* `POST /api/{T}/{id}/jobs`: `{"kind": "evaluate"|"finetune", "revision": "main"}` (writers), as the
  card's `model-index` / `fine_tune` block declares: 202 and the job; a fine-tuning request may
  change the block's `dataset`, `split`, `method`, `epochs` and `learning_rate` (as the CLI and
  the Jobs tab form do, `jobs.fine_tuning.FineTuneOverrides`);
* `GET  /api/jobs/{job}`: detail (state, progress, loss curve, result, error);
* `GET  /api/jobs/{job}/logs`: `{"log": ...}` (the tail the hub keeps);
* `POST /api/jobs/{job}/cancel`: writers of the repository and the job's submitter.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import request_principal, require_signed_in
from hub.exceptions import BadRequest, Forbidden
from hub.http.inputs import validated_input
from jobs.fine_tuning import FineTuneOverrides, fine_tune_request
from jobs.models import Job
from jobs.selectors import job_for, job_view, jobs_visible_to
from jobs.services.lifecycle import job_cancel
from jobs.services.requests import job_request_evaluation
from repos.api.patterns import repo_from_api_request
from repos.gate import can_write

MAX_LIMIT = 100


def _listing(request: Request, qs, user, token) -> Response:  # type: ignore[no-untyped-def]
    state, kind = request.query_params.get("state"), request.query_params.get("kind")
    if state:
        if state not in Job.State.values:
            raise BadRequest(f"Unknown state {state!r}")
        qs = qs.filter(state=state)
    if kind:
        if kind not in Job.Kind.values:
            raise BadRequest(f"Unknown kind {kind!r}")
        qs = qs.filter(kind=kind)
    raw = request.query_params.get("limit", "20")
    # Length first: int() of thousands of digits raises (Python's digit limit) instead of a 400.
    if not raw.isdigit() or len(raw) > len(str(MAX_LIMIT)) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer in [1, {MAX_LIMIT}]")
    return Response([job_view(job, user, token=token) for job in qs[: int(raw)]])


LISTING_QUERY = [OpenApiParameter("state", str, enum=list(Job.State.values)),
                 OpenApiParameter("kind", str, enum=list(Job.Kind.values)),
                 OpenApiParameter("limit", int, description=f"1 to {MAX_LIMIT} (default 20)")]


class JobListApi(APIView):
    """`GET /api/jobs`: the jobs the caller can see."""

    @extend_schema(summary="Jobs the caller can see, newest first", parameters=LISTING_QUERY,
                   responses={200: {"type": "array", "items": {"type": "object"}}})
    def get(self, request: Request) -> Response:
        user, token = request_principal(request)
        return _listing(request, jobs_visible_to(user, token=token), user, token)


class RepoJobsApi(APIView):
    """`GET|POST /api/{T}/{id}/jobs`: a repository's jobs; submit one (writers)."""

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=[Job.Kind.EVALUATE.value, Job.Kind.FINETUNE.value])
        revision = serializers.CharField(max_length=255, required=False)
        # Fine-tuning only; ranges are checked by the card's parser (422 with the field's path).
        dataset = serializers.CharField(max_length=200, required=False)
        split = serializers.CharField(max_length=100, required=False)
        method = serializers.ChoiceField(choices=["full", "lora"], required=False)
        epochs = serializers.IntegerField(required=False)
        learning_rate = serializers.FloatField(required=False)

    OVERRIDES = ("dataset", "split", "method", "epochs", "learning_rate")

    @extend_schema(summary="A repository's jobs, newest first", parameters=LISTING_QUERY,
                   responses={200: {"type": "array", "items": {"type": "object"}}})
    def get(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="read")
        user, token = request_principal(request)
        return _listing(request, jobs_visible_to(user, token=token, repo=repo), user, token)

    @extend_schema(summary="Submit an evaluation or a fine-tuning job (writers)", request=InputSerializer,
                   responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, plural: str, namespace: str, name: str) -> Response:
        repo = repo_from_api_request(request, plural=plural, namespace=namespace, name=name, action="write")
        user, token = require_signed_in(request)
        data = validated_input(self.InputSerializer, request.data)
        revision = data.get("revision") or repo.default_branch
        given = {key: data[key] for key in self.OVERRIDES if key in data}
        if data["kind"] == Job.Kind.FINETUNE:
            job = fine_tune_request(repo=repo, revision=revision, user=user, overrides=FineTuneOverrides(**given))
        else:
            if given:
                raise BadRequest(f"{', '.join(sorted(given))}: only for kind=finetune")
            job = job_request_evaluation(repo=repo, revision=revision, user=user)
        return Response(job_view(job, user, token=token), status=202)


class JobDetailApi(APIView):
    """`GET /api/jobs/{job}`."""

    @extend_schema(summary="A job: state, progress, loss curve, result, error", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, job_id: str) -> Response:
        user, token = request_principal(request)
        return Response(job_view(job_for(user, int(job_id), token=token), user, token=token))


class JobLogsApi(APIView):
    """`GET /api/jobs/{job}/logs`."""

    @extend_schema(summary="A job's log (the tail the hub keeps)", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, job_id: str) -> Response:
        user, token = request_principal(request)
        job = job_for(user, int(job_id), token=token)
        return Response({"id": job.pk, "state": job.state, "log": job.log})


class JobCancelApi(APIView):
    """`POST /api/jobs/{job}/cancel`: writers of the repository and the job's submitter."""

    @extend_schema(summary="Cancel a job (its submitter and writers of the repository)", request=None,
                   responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, job_id: str) -> Response:
        principal, token = request_principal(request)
        job = job_for(principal, int(job_id), token=token)  # a hidden job is missing, even to anonymous
        user, token = require_signed_in(request)
        if job.created_by_id != user.pk and not can_write(user, job.repository, token=token):
            raise Forbidden("Only the job's submitter and writers of the repository can cancel it")
        job = job_cancel(job=job)
        return Response(job_view(job, user, token=token), status=202)
