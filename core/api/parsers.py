"""The API's JSON parser: bounded in size and in nesting depth.

DRF's JSONParser reads the whole stream (Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only
guards ``request.body`` and form data) and hands it to ``json.loads``, whose recursion
on a body nested 1,000 deep ends in a RecursionError: a 500. Here an oversized body is
a 413 and a body nested deeper than ``API_MAX_JSON_DEPTH`` a 400, both in the one error
shape.
"""

import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.utils.json import strict_constant


class PayloadTooLarge(APIException):
    # Here, not in core.api.exceptions: DRF imports the parser classes while
    # rest_framework.views loads, which core.api.exceptions itself imports.
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` nests lists/objects more than ``limit`` deep (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def read_bounded(stream: IO[bytes], request: HttpRequest | None) -> bytes:
    """The body, or a 413 when it is larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge()
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge()
    return body


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        body = read_bounded(stream, parser_context.get("request"))
        parse_constant = strict_constant if self.strict else None
        try:
            data = json.loads(body.decode(encoding), parse_constant=parse_constant)
        except RecursionError:
            raise ParseError(_too_deep()) from None
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"JSON parse error - {error}") from None
        if json_depth_exceeds(data, settings.API_MAX_JSON_DEPTH):
            raise ParseError(_too_deep())
        return data


def _too_deep() -> str:
    return f"The JSON body nests deeper than {settings.API_MAX_JSON_DEPTH} levels."
