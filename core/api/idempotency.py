"""The ``Idempotency-Key`` header, after Stripe and the IETF draft.

The first response to a (user, key) pair is stored and replayed for every repeat; the
same key with another request is a 422; the same key while the first request still
runs is a 409. A request that fails (an exception or a 5xx) stores nothing, so the
client may retry with the same key. Keys are pruned by ``core.tasks.prune_idempotency_keys``.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from core.api.exceptions import ConflictError, UnprocessableEntity
from core.choices import IdempotencyState
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def request_fingerprint(request: Request) -> str:
    body = json.dumps(request.data, cls=JSONEncoder, sort_keys=True)
    raw = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _claim(user: Any, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """Insert the key (committed at once, so a concurrent repeat sees it)."""
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint), True
    except IntegrityError:
        return IdempotencyKey.objects.get(user=user, key=key), False


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a DRF view method (``create``, an ``@action``) to honour the header."""

    @functools.wraps(view_method)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if not key:
            return view_method(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ValidationError({HEADER: [f"At most {MAX_KEY_LENGTH} characters."]})
        fingerprint = request_fingerprint(request)
        record, created = _claim(request.user, key, fingerprint)
        if not created:
            if record.fingerprint != fingerprint:
                raise UnprocessableEntity(
                    "This Idempotency-Key was used with a different request.",
                    code="idempotency_key_reused",
                )
            if record.state != IdempotencyState.DONE:
                raise ConflictError(
                    "A request with this Idempotency-Key is still being processed.",
                    code="idempotency_key_in_progress",
                )
            response = Response(
                json.loads(record.response_body) if record.response_body else None,
                status=record.response_status,
            )
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = view_method(view, request, *args, **kwargs)
        except Exception:
            record.delete()
            raise
        if response.status_code >= status.HTTP_500_INTERNAL_SERVER_ERROR:
            record.delete()
            return response
        record.state = IdempotencyState.DONE
        record.response_status = response.status_code
        record.response_body = json.dumps(response.data, cls=JSONEncoder)
        record.save(update_fields=["state", "response_status", "response_body"])
        return response

    return wrapper
