"""HQ's public verifier of the documents the system issues (`urls_hq.py`, on HQ's host): a page
and `POST /api/v1/verify/`. Anyone, signed in or not, gives a picture or PDF of a document's
seal, the seal's bytes as a phone's scanner shows them (hex or base64), or a document number,
and reads VALID, REVOKED, EXPIRED or INVALID, why, and what the seal says, or, for a number no
register holds, NOT FOUND (`passports.register.verification`).

Nothing here writes. Every request that checks something is counted against the client's
budget (`appointments.ratelimit`): a picture costs real work to decode. A body larger than
`MAX_UPLOAD_BYTES` (as the client declares it) is refused before anything in it is decoded.
The body itself has been read by then (`consulate.kernel.http` looks for control characters
in every form), so the front server's body limit is what bounds what a client can send.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.ratelimit import rate_limit_consume
from consulate.kernel.errors import ApplicationError

from .register.error_codes import SealKeyError
from .register.verification import (
    MAX_TEXT_CHARS,
    DocumentVerdict,
    document_number_check,
    seal_bytes_from_text,
    seal_check,
)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a phone's photo or a scanned page, with room to spare
# multipart framing and the form's other fields around the file
_BODY_SLACK = 64 * 1024
# The public read budget (`appointments.ratelimit.DEFAULT_LIMITS`): a verifier checks a few
# documents a minute, a border queue's officer a few more.
RATE_ACTION = "verify"


class VerifyForm(forms.Form):
    file = forms.FileField(
        label=_("A photo, scan or PDF of the document's seal"),
        required=False,
        help_text=_("PNG, JPEG or PDF, at most 10 MB. The square barcode must be sharp."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )
    seal = forms.CharField(
        label=_("Or the seal's content from a barcode scanner app"),
        required=False,
        max_length=MAX_TEXT_CHARS,
        help_text=_("As hex or base64."),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
    )
    number = forms.CharField(
        label=_("Or the document number"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        given = [name for name in ("file", "seal", "number") if cleaned.get(name)]
        if len(given) != 1:
            raise forms.ValidationError(
                _("Give one thing to check: a file, the seal's content or a document number.")
            )
        upload = cleaned.get("file")
        if upload is not None and upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        return cleaned


def _body_too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > MAX_UPLOAD_BYTES + _BODY_SLACK


def _too_large() -> ApplicationError:
    return ApplicationError(SealKeyError.BAD_INPUT, _("The file is larger than 10 MB."))


def _verdict_for(cleaned: dict[str, Any]) -> DocumentVerdict:
    """The verdict on what the form gave; `ApplicationError` (a `SealError` among them) when
    there is nothing readable to judge."""
    if cleaned.get("number"):
        return document_number_check(number=cleaned["number"])
    if cleaned.get("seal"):
        return seal_check(data=seal_bytes_from_text(cleaned["seal"]))
    upload = cleaned["file"]
    upload.seek(0)
    return seal_check(data=upload.read(MAX_UPLOAD_BYTES + 1))


@require_http_methods(["GET", "HEAD", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"verdict": None, "error": None}
    if request.method != "POST":
        context["form"] = VerifyForm()
        return render(request, "passports/verify.html", context)
    status = 200
    form = VerifyForm()
    try:
        rate_limit_consume(request=request, action=RATE_ACTION)
        if _body_too_large(request):
            raise _too_large()
        form = VerifyForm(request.POST, request.FILES)
        if not form.is_valid():
            context["error"] = next(iter(form.errors.values()))[0]
            status = 400
        else:
            context["verdict"] = _verdict_for(form.cleaned_data)
    except ApplicationError as error:  # a SealError too: no seal could be read
        context["error"] = error.message
        status = error.http_status
        if form.is_bound and error.field in form.fields:  # beside the field too
            form.add_error(error.field, error.message)
    context["form"] = form
    return render(request, "passports/verify.html", context, status=status)


_VerdictSerializer = inline_serializer(
    name="DocumentVerdict",
    fields={
        "status": serializers.ChoiceField(
            choices=["valid", "revoked", "expired", "invalid", "not_found"]
        ),
        "reason": serializers.CharField(),
        "data": serializers.ListField(child=serializers.DictField()),
        "register": serializers.DictField(allow_null=True),
        "notes": serializers.ListField(child=serializers.CharField()),
    },
)


class VerifyApi(APIView):
    """Check a seal or a document number. Multipart with `file` (a picture or PDF of the seal),
    or form or JSON with `seal` (hex or base64) or `number`. 200 with the verdict, whatever it
    is; 400 when nothing readable was given (`code` `seal.no_barcode`, `seal.not_a_seal`...)."""

    permission_classes = [AllowAny]  # public: the answer names no person
    authentication_classes: list[Any] = []  # no session, so no CSRF: a phone app may post
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        request=inline_serializer(
            name="VerifyInput",
            fields={
                "file": serializers.FileField(required=False),
                "seal": serializers.CharField(required=False),
                "number": serializers.CharField(required=False),
            },
        ),
        responses=_VerdictSerializer,
    )
    def post(self, request: Request) -> Response:
        rate_limit_consume(request=request, action=RATE_ACTION)
        if _body_too_large(request):
            raise _too_large()
        try:
            data, files = request.data, request.FILES
        except ParseError:  # a body its declared type's parser cannot read
            raise ApplicationError(
                SealKeyError.BAD_INPUT,
                _("Give one thing to check: a file, the seal's content or a document number."),
            ) from None
        # JSON: an object of texts only (a form's QueryDict holds texts already)
        if not hasattr(data, "getlist") and (
            not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values())
        ):
            raise ApplicationError(
                SealKeyError.BAD_INPUT, _("Give the seal's content or a number as text.")
            )
        given: Any = data
        form = VerifyForm({key: given[key] for key in ("seal", "number") if key in given}, files)
        if not form.is_valid():
            first_field, errors = next(iter(form.errors.items()))
            raise ApplicationError(
                SealKeyError.BAD_INPUT,
                errors[0],
                field=None if first_field == "__all__" else first_field,
            )
        # a seal that cannot be read raises SealError: the API's handler answers 400 with its code
        return Response(_verdict_for(form.cleaned_data).as_dict())
