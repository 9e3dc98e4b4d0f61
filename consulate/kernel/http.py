"""Bad input refused at the edge, once for every page and API endpoint.

PostgreSQL cannot store a NUL character in text, and a view that passes one on gets a
DataError (a 500); a JSON body nested thousands of levels deep exhausts Python's stack (a
RecursionError, a 500). Rather than guard each view, `BadInputMiddleware` answers 400 with a
translated message for a NUL or other control character anywhere in the path, the query string
or a form field (in the format the request reads: JSON for the API and a `.json` feed, plain
text for a `.csv` download, the site's page otherwise), and `BoundedJSONParser` does the same
for API bodies (depth and characters).
`DataError` that still reaches the top (a value out of range) is answered 400, never 500.

One opt-out, explicit and narrow: a view marked `@query_string_cleaned_by(SomeForm)` (HQ's
filter pages, every page's search box: `SearchForm`) gets a control character in the value of
one of that form's fields, and the form (a `QueryStringForm`) refuses it beside the field, as
the page refuses any other bad filter:
400 with the page or a CSV's plain-text reason, in the reader's language, instead of this
generic page. The middleware still refuses everything else of such a request: the path, the
cookies, a posted form, every parameter's name and the value of any parameter the form does not
read.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

logger = logging.getLogger(__name__)

# C0 controls but tab, line feed and carriage return (which a textarea sends), and DEL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Deep enough for any body the API takes; far from Python's recursion limit.
MAX_JSON_DEPTH = 32
# the names of the query parameters a view's form refuses control characters in itself
QUERY_CLEANED_BY_VIEW = "query_string_cleaned_by"

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def csv_response(filename: str, content: str) -> HttpResponse:
    """A CSV file to download (UTF-8), named `filename`."""
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def has_control_characters(value: str) -> bool:
    return bool(CONTROL_CHARACTERS.search(value))


def _bad_input_message() -> str:
    return gettext("The request contains characters that are not allowed (such as a NUL byte).")


def _out_of_range_message() -> str:
    return gettext("A value in the request is too long or out of range.")


def _answer_format(request: HttpRequest) -> str:
    """What the refused request reads: "json" (the API, a path ending `.json`, an `Accept`
    asking JSON), "text" (a path ending `.csv`, an `Accept` asking CSV: a download answers its
    reason in plain text, as a refused filter's CSV does) or "html" (the site's page)."""
    path, accept = request.path, request.headers.get("Accept", "")
    if path.endswith(".json") or path.startswith("/api/"):
        return "json"
    if path.endswith(".csv"):
        return "text"
    if "json" in accept:
        return "json"
    if "text/csv" in accept:
        return "text"
    return "html"


def _too_large_message() -> str:
    return gettext("The request is too large.")


def bad_request(
    request: HttpRequest, message: Callable[[], str], *, status: int = 400
) -> HttpResponse:
    """400 (or `status`) with `message()`, in the language the reader's browser asks for (this
    runs before the session and LocaleMiddleware), in the format the request reads
    (`_answer_format`): JSON for the API and a JSON feed, plain text for a CSV, the site's page
    for everything else."""
    with translation.override(translation.get_language_from_request(request)):
        answer = _answer_format(request)
        if answer == "json":
            return JsonResponse(
                {"code": "invalid", "message": message(), "field": None}, status=status
            )
        if answer == "text":
            return HttpResponse(
                message() + "\n", status=status, content_type="text/plain; charset=utf-8"
            )
        # the page in the mission's own frame; refused before the session was read, it cannot
        # say who is reading, so it offers no account links (no "Sign in" to someone signed in)
        context = {
            "message": message(),
            "before_session": not hasattr(request, "user"),
            "back": _came_from(request),
        }
        body = render_to_string("400.html", context, request=request)
    return HttpResponse(body, status=status)


def _came_from(request: HttpRequest) -> str:
    """The page the refused request came from, if it is one of this host's (a way back to the
    form), else ""."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer or has_control_characters(referer):
        return ""
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    allowed = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={host}, require_https=request.is_secure()
    )
    return referer if allowed else ""


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class QueryStringForm(forms.Form):
    """A form of filters read from a query string that refuses a control character in any value
    of its fields (every value of a repeated one) beside the field, with the message every app
    gives typed text ("Remove the control characters from this field."): the view's half of
    `query_string_cleaned_by`. Such a field is read as not given, so the value is never shown
    back (no page holds a NUL) nor reaches a selector; its reason is added once the form is
    cleaned, beside any other field's."""

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        self.control_refused = [
            name for name in self.base_fields if data is not None and _holds_controls(data, name)
        ]
        if self.control_refused:
            data = data.copy()
            for name in self.control_refused:
                data.pop(name)
        super().__init__(data, **kwargs)

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.control_refused:
            self.add_error(name, _field_control_message())


def _holds_controls(data: Any, name: str) -> bool:
    values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
    return any(isinstance(value, str) and has_control_characters(value) for value in values)


def _field_control_message() -> str:
    # the message of typed text (consulate.kernel.text.text_clean): one catalogue entry
    return gettext("Remove the control characters from this field.")


class SearchForm(QueryStringForm):
    """A page's search box (`?q=`, rendered by `_search_field.html`; the page writes its own
    label): what to search for, or "" when nothing is, or when it is refused beside the box (a
    control character, or longer than what the page searches: a name or a reference, 100
    characters; a page that searches longer ones says so in a subclass)."""

    q = forms.CharField(required=False, max_length=100)

    def query(self) -> str:
        return self.cleaned_data["q"].strip() if self.is_valid() else ""


def query_string_cleaned_by(*form_classes: type[QueryStringForm]) -> Callable[[ViewT], ViewT]:
    """Mark a view whose query string the `form_classes` read: a control character in the value
    of one of their fields reaches the view, whose form refuses it beside the field (400, the
    page or the CSV's plain text, in the reader's language), instead of `BadInputMiddleware`'s
    generic page. Put it outermost (above `login_required`): the mark is read from the view the
    URL resolves to."""
    for form_class in form_classes:
        if not issubclass(form_class, QueryStringForm):
            raise TypeError(f"{form_class.__name__} does not refuse control characters itself")
    names = frozenset(name for form_class in form_classes for name in form_class.base_fields)

    def mark(view: ViewT) -> ViewT:
        setattr(view, QUERY_CLEANED_BY_VIEW, names)
        return view

    return mark


def view_mark(request: HttpRequest, name: str) -> Any:
    """The mark `name` that a decorator set on the view `request`'s URL resolves to, or None
    (no such view, or no such mark): how a middleware learns, before the view runs, what the
    view asked of it (`query_string_cleaned_by`, the public cache's `public_response`, the
    appointments' `refused_early_when_full`). Kept per path and URL conf."""
    return _view_mark_at(request.path_info, getattr(request, "urlconf", None), name)


@functools.lru_cache(maxsize=2048)
def _view_mark_at(path: str, urlconf: str | None, name: str) -> Any:
    try:
        match = resolve(path, urlconf=urlconf)
    except Resolver404:
        return None
    return getattr(match.func, name, None)


def _cleaned_by_view(request: HttpRequest) -> frozenset[str]:
    """The query parameters the view of `request` cleans itself (`query_string_cleaned_by`),
    or none. Read only for a request that holds a control character."""
    return frozenset(view_mark(request, QUERY_CLEANED_BY_VIEW) or ())


def _request_has_control_characters(
    request: HttpRequest, *, cleaned_by_view: Collection[str] = ()
) -> bool:
    """Whether the path, the query, a cookie or a posted form holds a control character, but
    in the value of a query parameter in `cleaned_by_view` (every other name and value, and the
    raw query string when nothing is, are checked)."""
    if has_control_characters(request.path):
        return True
    if not cleaned_by_view and has_control_characters(request.META.get("QUERY_STRING", "")):
        return True
    if any(has_control_characters(k + v) for k, v in request.COOKIES.items()):
        return True
    for key, values in request.GET.lists():
        if has_control_characters(key):
            return True
        if key not in cleaned_by_view and any(has_control_characters(v) for v in values):
            return True
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for key, values in request.POST.lists():
            if has_control_characters(key) or any(has_control_characters(v) for v in values):
                return True
    return False


class BadInputMiddleware:
    """Answers 413 for a body declared larger than CONSULATE_MAX_REQUEST_BYTES, 400 for
    control characters in the path, query or form (but where the view cleans them itself,
    `query_string_cleaned_by`), 400 for a DataError."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # before anything reads the body (CSRF reads a form, and a form's files are streamed to
        # disk whole): an upload larger than any page takes is refused on its declared length
        limit = int(getattr(settings, "CONSULATE_MAX_REQUEST_BYTES", 0) or 0)
        if limit and _declared_length(request) > limit:
            return bad_request(request, _too_large_message, status=413)
        if _request_has_control_characters(request) and _request_has_control_characters(
            request, cleaned_by_view=_cleaned_by_view(request)
        ):
            return bad_request(request, _bad_input_message)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DataError):
            logger.warning("bad input reached the database at %s: %s", request.path, exception)
            return bad_request(request, _out_of_range_message)
        return None


def _check(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ParseError(gettext("The JSON body is nested too deeply."))
    if isinstance(value, str):
        if has_control_characters(value):
            raise ParseError(_bad_input_message())
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth + 1)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than MAX_JSON_DEPTH and control
    characters in any string, with a 400 and a translated message."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(gettext("The JSON body is nested too deeply.")) from error
        _check(data, 1)
        return data


def json_loads_bounded(text: str | bytes) -> Any:
    """`json.loads` for bodies outside DRF (webhooks): ValueError for what the parser refuses."""
    try:
        data = json.loads(text)
        _check(data, 1)
    except (RecursionError, ParseError) as error:
        raise ValueError(str(error)) from error
    return data
