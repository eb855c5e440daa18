"""The ``phi.accessed`` event: one per request that showed PHI (not one per row),
emitted by ``core.access.record_access`` with the access-log rows it wrote."""

from collections import defaultdict
from typing import TYPE_CHECKING

from . import emit

if TYPE_CHECKING:
    from django.http import HttpRequest

    from core.models import AccessLog


def emit_access(request: "HttpRequest", rows: list["AccessLog"]) -> None:
    """One event per company among ``rows`` (a page is one company's, but an
    operator's may span several): who looked (the metadata), how, and at which
    records (type and id, never their content)."""
    if not rows:
        return
    records: defaultdict[object, defaultdict[str, list[str]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in rows:
        if row.company_id is not None:
            records[row.company_id][row.content_type.model].append(row.object_id)
    user_id = str(rows[0].user_id) if rows[0].user_id else "anonymous"
    for company_id, by_type in records.items():
        emit(
            "phi.accessed",
            ("user", user_id),
            {
                "via": rows[0].via,
                "action": rows[0].action,
                "records": dict(by_type),
                "count": sum(len(ids) for ids in by_type.values()),
            },
            company=company_id,
            request=request,
        )
