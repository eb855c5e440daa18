"""The one error shape of the API: ``{"error": {"code", "message", "fields"}}``."""

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api.parsers import PayloadTooLarge
from core.exceptions import ServiceError

if TYPE_CHECKING:
    from django.db.models.options import Options


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _first_code(codes: Any) -> str:
    """The first code of DRF's nested ``get_codes()`` result."""
    while isinstance(codes, (list, dict)):
        if not codes:
            return "error"
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes)


def _validation_fields(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def django_validation_fields(error: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as a ``{field: [messages]}`` dict."""
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {"non_field_errors": error.messages}


def in_use_message(error: ProtectedError | RestrictedError) -> str:
    """ "This record is in use by 3 orders and 1 claim.": the kinds and counts of what
    blocks a delete, from a ProtectedError/RestrictedError. Never the blocking records'
    text: their ``str()`` (what Django puts in the exception's message) names patients."""
    counts: Counter[Options[Any]] = (
        Counter(obj._meta for obj in error.args[1]) if len(error.args) > 1 else Counter()
    )
    if not counts:
        return "This record is in use and cannot be deleted."
    parts = [
        f"{count} {opts.verbose_name if count == 1 else opts.verbose_name_plural}"
        for opts, count in sorted(counts.items(), key=lambda item: item[0].label)
    ]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"This record is in use by {listed} and cannot be deleted."


class InUseError(exceptions.APIException):
    """A DELETE blocked by PROTECT/RESTRICT foreign keys: 409 ``in_use``."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "in_use"

    @classmethod
    def from_protected(cls, error: ProtectedError | RestrictedError) -> "InUseError":
        return cls(in_use_message(error))


class UnprocessableEntity(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def _as_api_exception(exc: Exception) -> Exception:
    """A Django or database exception as the DRF exception that answers it; any other
    exception as it is."""
    if isinstance(exc, (ProtectedError, RestrictedError)):
        return InUseError.from_protected(exc)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, IntegrityError):
        # The last resort for a constraint a service did not check first. The database's
        # message is left out: it quotes the row's values ("Key (mbi_index)=(...)").
        return ConflictError("The change conflicts with a rule on existing records.")
    if isinstance(exc, DataError):
        # A value the column cannot hold (out of range, too long) that no serializer
        # checked; again without the database's message.
        return exceptions.ValidationError(
            {"non_field_errors": ["A value is out of range or too long for its field."]}
        )
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(django_validation_fields(exc))
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def _validation_error_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    fields = _validation_fields(exc.detail)
    non_field = fields.get("non_field_errors")
    message = (
        str(non_field[0])
        if isinstance(non_field, list) and len(fields) == 1 and non_field
        else "Some fields are invalid."
    )
    return error_body("invalid", message, fields)


def _api_error_body(exc: Exception, response: Response) -> dict[str, Any]:
    detail = getattr(exc, "detail", None)
    code = _first_code(exc.get_codes()) if hasattr(exc, "get_codes") else "error"
    if isinstance(detail, dict):
        # simplejwt's InvalidToken carries {"detail", "code", "messages"}.
        message = str(detail.get("detail") or next(iter(detail.values()), ""))
        code = str(detail.get("code") or code)
    elif isinstance(detail, list):
        message = " ".join(str(item) for item in detail)
    else:
        message = str(detail) if detail is not None else response.status_text
    return error_body(code, message)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, then every 4xx/5xx reshaped into the one error body."""
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a 500: Django's handler500 answers with the same shape.
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_error_body(exc)
    else:
        response.data = _api_error_body(exc, response)
    return response


def json_error_view(status_code: int, code: str, message: str) -> Callable[..., JsonResponse]:
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse(error_body(code, message), status=status_code)

    return view
