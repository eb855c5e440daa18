"""Admin actions that take input, and service refusals shown on admin forms.

An action that needs more than a click (a reason, a date, an amount per row) is one
declaration on the ModelAdmin::

    void = FormAction(
        description="Void...",
        form_class=VoidForm,
        service=lambda claim, data, request: services.void_claim(claim, data["reason"]),
        done="claim(s) voided",
        title="Void claims",
        intro="A voided claim is kept, never billed again.",
    )

and is listed in ``actions`` by its name. The first click shows the input page
(``templates/admin/action_form.html``) with the selected rows; posting it validates the
form and calls the service once per row, each in the service's own transaction. A bad
input re-renders the page with the typed values and the errors beside the fields; when
every row is refused the page comes back too, with each refusal ("C-000012: ...") and
the service's field messages beside the fields; otherwise the results are messages on
the changelist ("3 claim(s) approved." and one message per refused row).
"""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .admin import apply_each, report_results
from .exceptions import ServiceError

Service = Callable[[Any, dict[str, Any], HttpRequest], object]
FormKwargs = Callable[[HttpRequest, list[Any]], dict[str, Any]]
Column = tuple[str, Callable[[Any], object]]

TEMPLATE = "admin/action_form.html"

if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]
    _FormBase = forms.BaseForm
else:
    # The mixins' hosts, for the type checker only.
    _AdminBase = _FormBase = object


class FormAction:
    """An admin action with an input form: the declaration and the action itself (Django
    calls it as ``action(modeladmin, request, queryset)``)."""

    def __init__(
        self,
        *,
        description: str,
        form_class: type[forms.Form],
        service: Service,
        done: str,
        title: str,
        intro: str = "",
        submit_label: str = "",
        form_kwargs: FormKwargs | None = None,
        select_related: Sequence[str] = (),
        columns: Sequence[Column] = (),
        permissions: Sequence[str] = ("change",),
    ) -> None:
        self.form_class = form_class
        self.service = service
        self.done = done
        self.title = title
        self.intro = intro
        self.submit_label = submit_label or title
        self.form_kwargs = form_kwargs
        self.select_related = tuple(select_related)
        self.columns = tuple(columns)
        # What Django's action machinery reads (admin.action sets the same names).
        self.short_description = description
        self.allowed_permissions = tuple(permissions)

    def __call__(
        self, modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]
    ) -> TemplateResponse | None:
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        rows = list(queryset)
        kwargs = self.form_kwargs(request, rows) if self.form_kwargs else {}
        if "apply" not in request.POST:
            return self.render(modeladmin, request, rows, self.form_class(**kwargs))
        form = self.form_class(request.POST, **kwargs)
        if not form.is_valid():
            return self.render(modeladmin, request, rows, form)
        data = form.cleaned_data
        succeeded, refused = apply_each(rows, lambda obj: self.service(obj, data, request))
        if refused and not succeeded:
            add_refusals(form, refused)
            return self.render(modeladmin, request, rows, form)
        report_results(modeladmin, request, succeeded, refused, self.done)
        return None

    def render(
        self, modeladmin: Any, request: HttpRequest, rows: list[Model], form: forms.Form
    ) -> TemplateResponse:
        opts = modeladmin.model._meta
        columns = self.columns or ((str(opts.verbose_name).capitalize(), str),)
        context = {
            **modeladmin.admin_site.each_context(request),
            "opts": opts,
            "title": self.title,
            "intro": self.intro,
            "submit_label": self.submit_label,
            "form": form,
            "headings": [heading for heading, _ in columns],
            "rows": [(obj.pk, [value(obj) for _, value in columns]) for obj in rows],
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, TEMPLATE, context)


def add_refusals(form: forms.Form, refused: list[tuple[Model, ServiceError]]) -> None:
    """Each refusal as a form error naming its row; the service's field messages beside
    the form's fields of the same name (once each)."""
    shown: set[tuple[str, str]] = set()
    for obj, error in refused:
        form.add_error(None, f"{obj}: {error.message}")
        for name, field_messages in error.fields.items():
            if name not in form.fields:
                continue
            for message in [field_messages] if isinstance(field_messages, str) else field_messages:
                if (name, message) not in shown:
                    shown.add((name, message))
                    form.add_error(name, message)


# A service's refusal while an admin change form saves: kept on the request for the re-render.
SERVICE_ERROR_ATTR = "_admin_service_error"


class ServiceErrorsInFormMixin(_AdminBase):
    """A ``ServiceError`` raised while a change form saves (inside the admin's
    transaction, which it rolls back, so nothing is half-written) is shown on the
    re-rendered form with the user's input kept: the view runs again with the error on
    the request, and the form (or the inline row) it names reports it in ``clean``
    (:class:`ServiceErrorFormMixin`). Raise it with ``error.form_prefix`` set to an
    inline form's prefix to put it on that row; unset, it goes on the main form."""

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form: Any = super().get_form(request, obj, change=change, **kwargs)
        # A class made for this request (modelform_factory): its clean sees the error.
        form.request = request
        return form

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as error:
            if request.method != "POST" or hasattr(request, SERVICE_ERROR_ATTR):
                raise
            setattr(request, SERVICE_ERROR_ATTR, error)
            return super().changeform_view(request, object_id, form_url, extra_context)


class ServiceErrorFormMixin(_FormBase):
    """Form side of :class:`ServiceErrorsInFormMixin`: the service's message as the
    form's error, and its field messages beside the fields this form has."""

    request: HttpRequest | None = None

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        error = getattr(self.request, SERVICE_ERROR_ATTR, None)
        if error is not None and getattr(error, "form_prefix", None) == self.prefix:
            for name, field_messages in error.fields.items():
                if name in self.fields:
                    self.add_error(name, field_messages)
            raise ValidationError(error.message)
        return cleaned
