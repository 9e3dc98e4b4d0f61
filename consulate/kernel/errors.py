"""One application error type for every service; one place that maps it to HTTP.

Services raise `ApplicationError(code, message)` with a code from their app's `error_codes.py`
(namespaced by app: `fees.…`, `appointments.…`) or from `CommonError`, and a translatable
message. `ApplicationError.http_status` is the one mapping to HTTP, used by pages (which show
the message) and by the API (`api_exception_handler`, which answers
`{"code", "message", "field", "errors"}` and the error's `details`): `NOT_FOUND` 404,
`NOT_ALLOWED` 403, `RATE_LIMITED` 429, anything else 400.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from .history import history_latest_by


class ApplicationError(Exception):
    def __init__(
        self,
        code: enum.Enum,
        message: Any,
        *,
        field: str | None = None,
        errors: dict[str, list[str]] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        self.errors = errors or ({field: [str(message)]} if field else {})
        # facts a program acts on, beside the message a person reads (JSON values, documented
        # with the code: a full slot's `next_release`)
        self.details = details or {}

    @classmethod
    def from_validation_error(cls, code: enum.Enum, error: ValidationError) -> ApplicationError:
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        first_field, messages = next(iter(errors.items()))
        return cls(
            code,
            messages[0],
            field=None if first_field == "__all__" else first_field,
            errors={k: [str(m) for m in v] for k, v in errors.items()},
        )

    @property
    def http_status(self) -> int:
        return HTTP_STATUS_BY_CODE_NAME.get(self.code.name, status.HTTP_400_BAD_REQUEST)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.details,
            "code": self.code.value,
            "message": str(self.message),
            "field": self.field,
            "errors": self.errors,
        }


T = TypeVar("T")


class FieldRefusals:
    """Several fields' checks in one service, every refusal kept: a form then shows each reason
    beside its field at once, instead of one more each time the person corrects the last.
    `check` runs one check, `add` records a refusal, `raise_any` raises them together (the
    first one's code, message and details, every field's reasons in `errors`; a single one as it
    was raised). A refusal that is not a field's (a permission's, a state's) goes on at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self._first: ApplicationError | None = None

    def add(self, error: ApplicationError) -> None:
        if not error.errors:
            raise error
        self._first = self._first or error
        for name, reasons in error.errors.items():
            self.errors.setdefault(name, []).extend(reasons)

    def check(self, work: Callable[[], T]) -> T | None:
        """What `work()` gives, or None when it refused a field (kept for `raise_any`)."""
        try:
            return work()
        except ApplicationError as error:
            self.add(error)
            return None

    def raise_any(self) -> None:
        first = self._first
        if first is None:
            return
        if self.errors == first.errors:  # one refusal: as it was raised
            raise first
        raise ApplicationError(
            first.code, first.message, field=first.field, errors=self.errors, details=first.details
        ) from first


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, ValidationError):
        error = ApplicationError.from_validation_error(CommonError.INVALID, exc)
        return Response(error.as_dict(), status=400)
    if isinstance(exc, Http404):
        return Response({"code": "not_found", "message": str(_not_found())}, status=404)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, serializers.ValidationError):
        # a serializer's field errors in the same shape as ours: each field by its path
        # ("persons.0.full_name"), the first one's message as the answer's
        errors = _field_errors(exc.detail, "") or {"__all__": [str(exc.default_detail)]}
        field, messages = next(iter(errors.items()))
        response.data = ApplicationError(
            CommonError.INVALID, messages[0], field=None if field == "__all__" else field,
            errors=errors,
        ).as_dict()  # fmt: skip
    elif response is not None and isinstance(exc, APIException):
        # DRF's own refusals (a body that does not parse, not logged in, wrong method,
        # throttled) in the same shape as ours
        response.data = {
            "code": str(exc.get_codes()),
            "message": str(exc.detail),
            "field": None,
            "errors": {},
        }
    return response


def _field_errors(detail: Any, path: str) -> dict[str, list[str]]:
    """DRF's nested errors (dicts by field, lists by position, lists of messages) by path, in
    their order; errors of the whole body (DRF's `non_field_errors`, a bare message) under
    "__all__", as `ApplicationError.from_validation_error` puts them."""
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "" if key == api_settings.NON_FIELD_ERRORS_KEY else str(key)
            errors.update(_field_errors(value, f"{path}.{name}" if path and name else path or name))
        return errors
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        errors = {}
        for position, value in enumerate(detail):
            errors.update(_field_errors(value, f"{path}.{position}" if path else str(position)))
        return errors
    messages = detail if isinstance(detail, list) else [detail]
    return {path or "__all__": [str(message) for message in messages]} if messages else {}


def error_shown(request: HttpRequest, error: ApplicationError | ValidationError) -> int:
    """For pages: show why on the page rendered next (a translated message), and return the
    HTTP status to answer with, the same one the API gives for the same error."""
    if isinstance(error, ApplicationError):
        messages.error(request, str(error.message))
        return error.http_status
    messages.error(request, str(error.messages[0]))
    return status.HTTP_400_BAD_REQUEST


def errors_on_form(
    form: Any, error: ApplicationError, *, renamed: dict[str, str] | None = None
) -> None:
    """For pages: each field a service refused gets its first reason beside it, all at once
    (the service's name for a field `renamed` to the form's where they differ); a reason for no
    field of the form goes at the form's top."""
    for name, problems in error.errors.items():
        name = (renamed or {}).get(name, name)
        form.add_error(name if name in form.fields else None, problems[0])


def refusal_shown(
    request: HttpRequest,
    form: Any,
    error: ApplicationError,
    *,
    renamed: dict[str, str] | None = None,
) -> int:
    """For a page whose form names its refusals at the top (`_error_summary.html`): a
    service's refusal on `form` (validated already), each reason beside its field and in the
    summary, with no banner repeating the first; a refusal that names no field (the case moved
    on, a permission) is the page's message (`error_shown`). The HTTP status to answer with."""
    errors_on_form(form, error, renamed=renamed)
    if form.errors:
        return error.http_status
    return error_shown(request, error)


def recorded_already(
    request: HttpRequest, record: Any, *, page: str, **values: Any
) -> HttpResponse | None:
    """For a staff step its service refused: when this person's same step has changed `record`
    to `values` meanwhile (`history.history_latest_by`: a double click, or a second tap on a
    slow connection, the first request having recorded it), the redirect to `page` (the case
    as it stands, a URL) with a calm notice, instead of the refusal over the case as it was.
    None when the step is not theirs to find done (a step the case never took, another
    person's move): the refusal stands. Ask before `error_shown`, which queues the refusal's
    message."""
    if not history_latest_by(record, acting_user=request.user, **values):
        return None
    messages.info(request, _recorded_already_message())
    return redirect(page)


def form_error_shown(request: HttpRequest, form: Any) -> int:
    """For pages: show a form's first error as the page's message; 400. A form sent with
    nothing in it (an empty POST) has no errors to name: it is asked to be filled in."""
    first = next(iter(form.errors.values()), None)
    messages.error(request, str(first[0]) if first else str(_empty_form_message()))
    return status.HTTP_400_BAD_REQUEST


def form_for_service_errors(form: Any) -> None:
    """Ready a bound form that only shows back what was sent, for the service's refusals
    (`form.add_error`): its own checks (a field's length, a choice's list) say nothing, since
    the service cleans and judges every value, and a field with both said the same thing twice
    ("...at most 500 characters.Use at most 500 characters.")."""
    form.is_valid()  # `add_error` needs the form cleaned once
    form.errors.clear()


def form_read(form: Any, read: Callable[[], T]) -> T | None:
    """For a page whose filters come in its query string: what `read()` gives (never None) once
    `form` is valid, or None when the form, or `read` for one of the form's fields, refuses a
    value; the reasons are then the form's errors, each beside its field. Figures for
    everything under a filter the reader still sees would look filtered, so they are never
    the answer to a bad one. A refusal that is not a field's (the permission's) goes on as
    everywhere else. The page answers 400 (HQ's monitoring pages name each refused field in
    an error summary; `form_error_shown` gives the first reason as the page's message), a file
    `form_refused_in_text`."""
    if not form.is_valid():
        return None
    try:
        return read()
    except ApplicationError as error:
        if not form_errors_add(form, error):
            raise
        return None


def form_checked(form: Any, check: Callable[[], object]) -> None:
    """For a filter form's `clean`: the refusals of `check()` (the selector's rules, asked of
    what the fields understood) beside the form's fields, with the fields' own, so every reason
    shows at once, not one only once the others are corrected. A refusal that is not only about
    the form's fields goes on."""
    try:
        check()
    except ApplicationError as error:
        if not form_errors_add(form, error):
            raise


def form_errors_add(form: Any, error: ApplicationError) -> bool:
    """Put every reason of `error` beside its field of `form` (`error.errors`: a selector that
    refuses several filters names each), and say whether it did: an error that is not only
    about the form's fields (a permission's, the whole request's) adds nothing."""
    if not error.errors or any(name not in form.fields for name in error.errors):
        return False
    for name, reasons in error.errors.items():
        for reason in reasons:
            form.add_error(name, reason)
    return True


def form_refused_in_text(form: Any) -> HttpResponse:
    """400 in plain text for a download whose filters `form_read` refused: a line per reason,
    "<the field's label>: <why>", in the order of the form's fields (as the page shows them),
    never a file of every figure."""
    names = [name for name in form.fields if name in form.errors]
    names += [name for name in form.errors if name not in form.fields]
    lines = [
        f"{form.fields[name].label}: {message}" if name in form.fields else str(message)
        for name in names
        for message in form.errors[name]
    ]
    return HttpResponse(
        "\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8"
    )


def _recorded_already_message() -> Any:
    from django.utils.translation import gettext

    return gettext("This was recorded already. Here is where the case stands.")


def _empty_form_message() -> Any:
    from django.utils.translation import gettext

    return gettext("Fill in the form and send it again.")


def _not_found() -> Any:
    from django.utils.translation import gettext

    return gettext("Not found.")


class CommonError(enum.Enum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    RATE_LIMITED = "rate_limited"
    BAD_TRANSITION = "bad_transition"


# By the member's name, so that every app's enum maps the same way (`FeeError.NOT_FOUND` too).
HTTP_STATUS_BY_CODE_NAME = {
    "NOT_FOUND": status.HTTP_404_NOT_FOUND,
    "NOT_ALLOWED": status.HTTP_403_FORBIDDEN,
    "RATE_LIMITED": status.HTTP_429_TOO_MANY_REQUESTS,
}
