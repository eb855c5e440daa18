"""JSON list fields (modifiers, diagnosis pointers, serial numbers, codes) as staff read
them: comma-separated, never the raw JSON (``["KX"]``, ``[1, 2]``) that Django's admin
prints for a read-only ``JSONField``.

Editing them goes through the typed comma-separated form fields of each app
(``dme.forms.ModifiersFormField``, ``hme.forms.WordListField`` / ``PointerListField`` /
``ICD10ListField``, ``clinical.forms.ICD10ListFormField``), which validate each item and
put the error beside the field. This mixin covers the read-only side: wherever a list
field is shown read-only (a confirmed order's lines, a submitted claim's lines, a proof
of delivery's items, the changelist), it is replaced by a display of the same label::

    class OrderLineInline(ListFieldsMixin, EditableWhileParentMixin, ..., admin.TabularInline):
        list_fields = ("modifiers",)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.http import HttpRequest

SUFFIX = "_listed"


def join_items(values: Iterable[Any] | None, item: Callable[[Any], str] = str) -> str:
    """``["RR", "KH"]`` -> ``RR, KH``; empty -> ``-``."""
    return ", ".join(item(value) for value in values or []) or "-"


class ListFieldsMixin:
    """For a ModelAdmin or an inline: show the JSON list fields named in
    ``list_fields`` comma-separated wherever they are read-only (and in the
    changelist). ``list_item_format`` may format each item (``format_icd10``)."""

    list_fields: Sequence[str] = ()
    list_item_format: dict[str, Callable[[Any], str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.list_fields:
            setattr(self, name + SUFFIX, self._list_display(name))

    def _list_display(self, name: str) -> Callable[[Any], str]:
        item = self.list_item_format.get(name, str)
        label = self.model._meta.get_field(name).verbose_name  # type: ignore[attr-defined]

        def show(obj: Any) -> str:
            return join_items(getattr(obj, name, None), item)

        show.short_description = label  # type: ignore[attr-defined]
        return show

    def _readonly_names(self, request: HttpRequest, obj: Any) -> set[str]:
        readonly = set(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if not self.has_change_permission(request, obj):  # type: ignore[attr-defined]
            readonly.update(self.list_fields)
        return readonly

    def _rename(self, names: Iterable[Any], readonly: set[str]) -> list[Any]:
        renamed: list[Any] = []
        for name in names:
            if isinstance(name, (list, tuple)):
                renamed.append(type(name)(self._rename(name, readonly)))
            elif isinstance(name, str) and name in self.list_fields and name in readonly:
                renamed.append(name + SUFFIX)
            else:
                renamed.append(name)
        return renamed

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        readonly = self._readonly_names(request, obj)
        return [
            (title, {**options, "fields": self._rename(options.get("fields", ()), readonly)})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        shown = self._readonly_names(request, obj)
        return [*readonly, *(name + SUFFIX for name in self.list_fields if name in shown)]

    def get_list_display(self, request: HttpRequest) -> Any:
        names = super().get_list_display(request)  # type: ignore[misc]
        return [name + SUFFIX if name in self.list_fields else name for name in names]
