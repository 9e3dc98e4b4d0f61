"""Bad input is refused at the edge with a 400 and a message in the reader's language, never a
500, whatever the page or endpoint (consulate/kernel/http.py). Each app's tests also send it to
their own URLs; these attack the mechanism itself and HQ's pages."""

from __future__ import annotations

import io
import json

import pytest
from django import forms
from django.db import DataError
from django.http import HttpResponse, QueryDict
from django.test import RequestFactory
from django.urls import path
from django.utils import translation
from rest_framework.exceptions import ParseError, ValidationError

from consulate.kernel.errors import api_exception_handler
from consulate.kernel.http import (
    MAX_JSON_DEPTH,
    BadInputMiddleware,
    BoundedJSONParser,
    QueryStringForm,
    has_control_characters,
    json_loads_bounded,
    query_string_cleaned_by,
)
from tests.conftest import MODEL_BACKEND, text_of
from tests.factories import UserFactory


@pytest.mark.parametrize(
    "path",
    [
        "/?country=%00",
        "/?country=DE%00DROP",
        "/?q%00=x",
        "/api/v1/missions/?q=%00",
        "/api/v1/missions/?country=%01",
        "/%00/",
    ],
)
def test_control_characters_in_the_path_or_query_at_hq_answer_400(client_hq, path):
    # when someone sends a NUL (or another control character) in the URL
    response = client_hq.get(path)
    # then the answer is a 400 that says why
    assert response.status_code == 400
    assert "not allowed" in response.content.decode()


def test_the_message_is_in_the_readers_language(client_hq):
    # when a Turkish reader sends a NUL byte
    response = client_hq.get("/?country=%00", HTTP_ACCEPT_LANGUAGE="tr")
    # then the page says so in Turkish, inside the site's layout
    body = response.content.decode()
    assert response.status_code == 400
    assert 'lang="tr"' in body
    assert "izin verilmeyen" in body


def test_the_api_answers_json(client_hq):
    response = client_hq.get("/api/v1/missions/?q=%00")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [("text/csv", "text/plain; charset=utf-8"), ("application/json", "application/json")],
)
def test_the_refusal_answers_in_the_format_the_accept_header_asks(client_hq, accept, content_type):
    response = client_hq.get("/?country=%00", HTTP_ACCEPT=accept, HTTP_ACCEPT_LANGUAGE="tr")
    assert response.status_code == 400
    assert response["Content-Type"] == content_type
    assert "izin verilmeyen karakterler" in response.content.decode()


def test_a_nul_in_a_posted_form_field_is_refused_before_the_view(client_hq):
    # when a form posts a NUL in any field (here the login form, which reads the database)
    response = client_hq.post("/accounts/login/", {"login": "a\x00@example.org", "password": "x"})
    # then nothing reaches the view
    assert response.status_code == 400


def test_tabs_and_line_breaks_are_text_not_bad_input():
    assert not has_control_characters("line one\r\nline two\tend")
    assert has_control_characters("a\x00b")
    assert has_control_characters("\x1b[31m")


def test_a_data_error_that_reaches_the_top_is_a_400_not_a_500(rf: RequestFactory):
    # given a view that passes an out-of-range value to the database
    def view(request):  # type: ignore[no-untyped-def]
        return HttpResponse("ok")

    middleware = BadInputMiddleware(view)
    request = rf.get("/api/v1/anything/")
    # when the database refuses it
    response = middleware.process_exception(request, DataError("integer out of range"))
    # then the answer is a 400 with a message
    assert response is not None
    assert response.status_code == 400
    assert middleware.process_exception(request, ValueError("a bug")) is None


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 100_000])
def test_json_nested_too_deeply_is_a_parse_error(depth):
    parser = BoundedJSONParser()
    with pytest.raises(ParseError):
        parser.parse(_stream_of(_nested(depth)), "application/json", {})


def test_json_within_the_depth_and_with_text_parses():
    parser = BoundedJSONParser()
    deepest = parser.parse(_stream_of(_nested(MAX_JSON_DEPTH)), "application/json", {})
    for _level in range(MAX_JSON_DEPTH - 1):
        deepest = deepest[0]
    assert deepest == []
    body = json.dumps({"persons": [{"full_name": "Ayşe\tYılmaz"}]})
    assert parser.parse(_stream_of(body), "application/json", {})["persons"][0]["full_name"]


@pytest.mark.parametrize("body", ['{"a": "x\\u0000y"}', '{"x\\u0000": 1}', '["\\u001b"]'])
def test_json_strings_with_control_characters_are_refused(body):
    with pytest.raises(ParseError):
        BoundedJSONParser().parse(_stream_of(body), "application/json", {})
    with pytest.raises(ValueError, match="not allowed"):
        json_loads_bounded(body)


def test_deep_json_on_an_api_endpoint_answers_400(client_hq):
    # when a 5,000-deep body is posted to an API endpoint (any one: the parser is global)
    response = client_hq.post(
        "/api/v1/missions/", data=_nested(5_000), content_type="application/json"
    )
    # then it is a client error, never a 500
    assert 400 <= response.status_code < 500


def _stream_of(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def test_drf_refusals_answer_in_the_applications_shape():
    # when DRF itself refuses a body (the parser's error above)
    response = api_exception_handler(ParseError("The JSON body is nested too deeply."), {})
    # then the answer has the same keys as every application error
    assert response is not None
    assert response.status_code == 400
    assert response.data == {
        "code": "parse_error",
        "message": "The JSON body is nested too deeply.",
        "field": None,
        "errors": {},
    }


def test_a_serializers_field_errors_answer_in_the_applications_shape():
    # when a serializer refuses fields of a nested body, and a whole body
    nested = ValidationError({
        "slot": ["A valid integer is required."],
        "persons": {0: {"full_name": ["Too long."]}, 1: {"non_field_errors": ["Not a person."]}},
    })  # fmt: skip
    whole = ValidationError({"non_field_errors": ["Expected a dictionary."]})
    # then each is one answer of the application's shape: every field by its path, the first
    # one's message as the answer's; the whole body's under "__all__", with no field
    response = api_exception_handler(nested, {})
    assert response is not None
    assert response.status_code == 400
    assert response.data == {
        "code": "invalid",
        "message": "A valid integer is required.",
        "field": "slot",
        "errors": {
            "slot": ["A valid integer is required."],
            "persons.0.full_name": ["Too long."],
            "persons.1": ["Not a person."],
        },
    }
    response = api_exception_handler(whole, {})
    assert response is not None
    assert response.data == {
        "code": "invalid",
        "message": "Expected a dictionary.",
        "field": None,
        "errors": {"__all__": ["Expected a dictionary."]},
    }
    # and a refusal that names nothing still says something
    response = api_exception_handler(ValidationError({}), {})
    assert response is not None
    assert response.data["message"] == "Invalid input."


def test_a_control_character_in_a_cookie_is_refused_before_the_session_is_read(client_hq):
    # when the session cookie carries a NUL (the session lookup would send it to the database)
    client_hq.cookies["sessionid"] = "abcdefghijkl\x00mnop"
    response = client_hq.get("/")
    # then the answer is a 400, not a database error
    assert response.status_code == 400


def test_the_unknown_host_page_carries_the_security_headers(client, db):
    response = client.get("/", HTTP_HOST="nowhere.localhost")
    assert response.status_code == 404
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response


@pytest.mark.parametrize(
    ("path", "language", "words"),
    [
        ("/hq/sync/alpha/import/", "en", "too large"),
        ("/accounts/login/", "tr", "çok büyük"),
    ],
)
def test_a_body_declared_larger_than_any_page_takes_is_refused_before_it_is_read(
    rf: RequestFactory, settings, path, language, words
):
    # given a page that would read the form (CSRF does, before any permission check)
    settings.CONSULATE_MAX_REQUEST_BYTES = 1000
    read = []

    def view(request):  # type: ignore[no-untyped-def]
        read.append(request.POST)
        return HttpResponse("ok")

    # when someone declares a body larger than the limit
    request = rf.post(
        path, data=b"x" * 10, content_type="application/octet-stream",
        CONTENT_LENGTH="5000000000", HTTP_ACCEPT_LANGUAGE=language,
    )  # fmt: skip
    response = BadInputMiddleware(view)(request)
    # then 413, in the reader's language, and nothing read it
    assert response.status_code == 413
    assert words in response.content.decode()
    assert read == []


@pytest.mark.parametrize(
    ("language", "back", "mission_name"),
    [("en", "Back to the page you came from", "Consulate-General in Berlin"),
     ("tr", "Geldiğiniz sayfaya dön", "Consulate-General in Berlin")],
)  # fmt: skip
def test_a_form_refused_before_the_session_offers_the_way_back_in_the_missions_frame(
    client_a, mission_a, language, back, mission_name
):
    # given a signed-in citizen on a mission's form
    user = UserFactory()
    client_a.force_login(user, backend=MODEL_BACKEND)
    came_from = "http://alpha.localhost/passports/"
    # when the form is sent with a NUL byte in a field
    response = client_a.post(
        "/passports/",
        {"kind": "first\x00"},
        HTTP_ACCEPT_LANGUAGE=language,
        HTTP_REFERER=came_from,
    )
    # then the 400 page is the mission's, links back to the form, and offers no "Sign in" to
    # someone signed in (who it is was not read)
    assert response.status_code == 400
    html = response.content.decode()
    assert text_of(html, "a", class_="brand") == mission_name
    assert f'<a href="{came_from}">{back}</a>' in html
    assert "/accounts/login/" not in html
    # and a page on another host is not offered as the way back
    elsewhere = client_a.post(
        "/passports/", {"kind": "\x00"}, HTTP_REFERER="https://evil.example/phish"
    )
    assert "evil.example" not in elsewhere.content.decode()


# --- a view that cleans its own query string (query_string_cleaned_by) ---------------------------


class _Filters(QueryStringForm):
    country = forms.CharField(required=False)
    region = forms.ChoiceField(required=False, choices=[("", ""), ("150", "Europe")])


def _reached(request):  # type: ignore[no-untyped-def]
    return HttpResponse("reached the view")


_cleaning = query_string_cleaned_by(_Filters)(lambda request: _reached(request))
urlpatterns = [path("filtered/", _cleaning), path("plain/", _reached)]


def _through_middleware(request):  # type: ignore[no-untyped-def]
    request.urlconf = __name__
    return BadInputMiddleware(_reached)(request)


@pytest.mark.parametrize(
    ("path", "reaches"),
    [
        # a filter the view's form reads: the form refuses it beside its field
        ("/filtered/?country=%00", True),
        ("/filtered/?region=150&country=DE%01", True),
        ("/filtered/?country=DE&country=%00", True),
        # anything else: refused before the view, as for every view
        ("/filtered/?other=%00", False),
        ("/filtered/?country%00=DE", False),
        ("/filtered/%00/?country=DE", False),
        ("/plain/?country=%00", False),
    ],
)
def test_only_a_marked_views_own_filters_reach_it_with_control_characters(
    rf: RequestFactory, path, reaches
):
    response = _through_middleware(rf.get(path))
    assert (response.status_code == 200) is reaches, response.content


def test_a_marked_view_is_still_guarded_on_its_cookies_and_a_posted_form(rf: RequestFactory):
    # a NUL in a cookie, or in a posted field of the form's name, never reaches the view
    request = rf.get("/filtered/?country=DE")
    request.COOKIES["sessionid"] = "abc\x00def"
    assert _through_middleware(request).status_code == 400
    posted = rf.post("/filtered/?country=DE", {"country": "\x00"})
    assert _through_middleware(posted).status_code == 400


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Remove the control characters from this field."),
     ("tr", "Bu alandaki kontrol karakterlerini silin.")],
)  # fmt: skip
def test_a_query_string_form_refuses_control_characters_beside_the_field(language, message):
    # when the form reads a control character in one of its fields (in any of its values)
    with translation.override(language):
        form = _Filters(QueryDict("region=%01&region=150&country=DE"))
        # then that field is refused with the message of typed text, and not read at all
        assert not form.is_valid()
        assert form.errors == {"region": [message]}
        assert "region" not in form.cleaned_data
        assert form.cleaned_data["country"] == "DE"
        # and the value is never shown back
        assert "\x01" not in str(form["region"].value() or "")
    # a form without any is the plain form
    assert _Filters(QueryDict("region=150")).is_valid()


def test_only_a_form_that_refuses_control_characters_may_mark_a_view():
    class Plain(forms.Form):
        country = forms.CharField(required=False)

    with pytest.raises(TypeError):
        query_string_cleaned_by(Plain)  # type: ignore[arg-type]
