"""REST endpoints of a mission's appointments, scoped to the mission of the host. Thin: input
serializers shape the data, services decide."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.urls import path
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consulate.kernel.errors import ApplicationError, CommonError
from consulate.kernel.public_cache import public_response
from missions.permissions import Action, staff_access

from . import selectors, services
from .middleware import refused_early_when_full
from .models import Booking, Service, Slot, WaitlistEntry
from .ratelimit import rate_limit_consume


class ServiceOutputSerializer(serializers.ModelSerializer[Service]):
    class Meta:
        model = Service
        fields = [
            "code", "name", "duration_minutes", "max_persons", "horizon_days",
            "min_notice_hours", "cancel_cutoff_hours", "release_mode",
        ]  # fmt: skip


class SlotOutputSerializer(serializers.ModelSerializer[Slot]):
    free = serializers.IntegerField(read_only=True)

    class Meta:
        model = Slot
        fields = ["id", "starts_at", "ends_at", "free"]


class BookingOutputSerializer(serializers.ModelSerializer[Booking]):
    service = serializers.CharField(source="service.code")
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")

    class Meta:
        model = Booking
        fields = [
            "reference", "service", "starts_at", "ends_at", "status", "queue_number",
            "visit_recorded_at",
        ]  # fmt: skip


_DATETIME = serializers.DateTimeField()  # DRF's own format: ISO 8601 in the current time zone


def booking_output(booking: Booking) -> dict[str, Any]:
    """One booking as `BookingOutputSerializer` gives it (its fields, in its order, with DRF's
    own date format), without building a serializer and its fields on every request: that
    cost the booking's POST about 2 ms of CPU. The serializer stays the schema's and the
    lists'; `tests/appointments/test_api_booking.py` holds the two equal."""
    slot = booking.slot
    return {
        "reference": booking.reference,
        "service": booking.service.code,
        "starts_at": _DATETIME.to_representation(slot.starts_at),
        "ends_at": _DATETIME.to_representation(slot.ends_at),
        "status": booking.status,
        "queue_number": booking.queue_number,
        # set when the mission released it because the visit was recorded before its day
        "visit_recorded_at": None
        if booking.visit_recorded_at is None
        else _DATETIME.to_representation(booking.visit_recorded_at),
    }


class PersonInputSerializer(serializers.Serializer[dict[str, Any]]):
    full_name = serializers.CharField(max_length=200)
    date_of_birth = serializers.DateField()
    document_number = serializers.CharField(max_length=30)


# One input serializer per request body, each with its own name in the OpenAPI schema.


class BookingCreateInputSerializer(serializers.Serializer[dict[str, Any]]):
    service = serializers.SlugField()
    slot = serializers.IntegerField()
    persons = PersonInputSerializer(many=True)


_SLUG = re.compile(r"^[-a-zA-Z0-9_]+\Z")  # SlugField's
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_PERSON_TEXT = {"full_name": 200, "document_number": 30}  # PersonInputSerializer's max_length


def _plain_text(value: Any, max_length: int) -> bool:
    # what CharField keeps as it is: printable (no NUL, no surrogate), nothing to trim, not blank
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and value.isprintable()
        and value == value.strip()
    )


def _plain_date(value: Any) -> dt.date | None:
    if type(value) is not str or not _ISO_DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def booking_create_input(data: Any) -> dict[str, Any]:
    """The booking's body as `BookingCreateInputSerializer` validates it. The plain form that
    clients send (a slug, an integer, strings that need no trimming, ISO dates) is read
    directly, which saves the serializer's construction on every booking; anything else
    (including every invalid body) goes through the serializer, so its errors and the values it
    accepts stay exactly DRF's. `tests/appointments/test_api_booking.py` compares the two."""
    if type(data) is dict and type(data.get("persons")) is list:
        service, slot = data.get("service"), data.get("slot")
        persons = []
        for person in data["persons"]:
            if type(person) is not dict:
                break
            date_of_birth = _plain_date(person.get("date_of_birth"))
            if date_of_birth is None or not all(
                _plain_text(person.get(name), length) for name, length in _PERSON_TEXT.items()
            ):
                break
            persons.append({
                "full_name": person["full_name"], "date_of_birth": date_of_birth,
                "document_number": person["document_number"],
            })  # fmt: skip
        else:
            if type(service) is str and _SLUG.match(service) and type(slot) is int:
                return {"service": service, "slot": slot, "persons": persons}
    serializer = BookingCreateInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class BookingRescheduleInputSerializer(serializers.Serializer[dict[str, Any]]):
    slot = serializers.IntegerField()


class WaitlistJoinInputSerializer(serializers.Serializer[dict[str, Any]]):
    service = serializers.SlugField()
    day_from = serializers.DateField()
    day_to = serializers.DateField()
    person = PersonInputSerializer()


class CheckInInputSerializer(serializers.Serializer[dict[str, str]]):
    reference = serializers.CharField(max_length=40)


class ServiceListApi(APIView):
    permission_classes = [AllowAny]  # public: no personal data

    @extend_schema(responses=ServiceOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(ServiceOutputSerializer(selectors.service_list_offered(), many=True).data)


class AvailabilityApi(APIView):
    permission_classes = [AllowAny]  # public: no personal data

    @extend_schema(responses=SlotOutputSerializer(many=True))
    def get(self, request: Request, code: str) -> Response:
        rate_limit_consume(request=request, action="read")
        service = selectors.service_get_offered(code=code)
        return Response(
            SlotOutputSerializer(selectors.slot_list_available(service=service), many=True).data
        )


class AvailabilityFeedApi(APIView):
    permission_classes = [AllowAny]  # public: no personal data
    # JSON only: the browsable API's page names the signed-in reader, and this answer is kept
    # for every reader (consulate/kernel/public_cache.py)
    renderer_classes = [JSONRenderer]

    @extend_schema(
        responses=inline_serializer(
            "AvailabilityFeed",
            {
                "service": serializers.CharField(),
                "name": serializers.CharField(),
                "release_mode": serializers.CharField(),
                "next_bookable": serializers.DateTimeField(allow_null=True),
                "next_release": serializers.DateTimeField(allow_null=True),
                "lottery_closes": serializers.DateTimeField(allow_null=True),
            },
            many=True,
        )
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.availability_feed(mission=request.tenant))  # type: ignore[attr-defined]


class BookingListCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=BookingOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        bookings = selectors.booking_list_for_user(user_id=request.user.pk)
        return Response(BookingOutputSerializer(bookings, many=True).data)

    @extend_schema(request=BookingCreateInputSerializer, responses={201: BookingOutputSerializer})
    def post(self, request: Request) -> Response:
        rate_limit_consume(request=request, action="book")
        data = booking_create_input(request.data)
        service = selectors.service_get_offered(code=data["service"])
        booking = services.booking_create(
            slot_id=data["slot"],
            service=service,
            persons=[services.PersonInput(**p) for p in data["persons"]],
            user=request.user,  # type: ignore[arg-type]
            language=translation.get_language() or "en",
            acting_user=request.user,  # type: ignore[arg-type]
        )
        return Response(booking_output(booking), status=status.HTTP_201_CREATED)


class BookingCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=BookingOutputSerializer)
    def post(self, request: Request, reference: str) -> Response:
        rate_limit_consume(request=request, action="cancel")
        booking = selectors.booking_get_for_user(reference=reference, user_id=request.user.pk)
        booking = services.booking_cancel(booking=booking, acting_user=request.user)  # type: ignore[arg-type]
        return Response(booking_output(booking))


class BookingRescheduleApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=BookingRescheduleInputSerializer, responses=BookingOutputSerializer)
    def post(self, request: Request, reference: str) -> Response:
        rate_limit_consume(request=request, action="book")
        data = BookingRescheduleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = selectors.booking_get_for_user(reference=reference, user_id=request.user.pk)
        new = services.booking_reschedule(
            booking=booking,
            slot_id=data.validated_data["slot"],
            acting_user=request.user,  # type: ignore[arg-type]
        )
        return Response(booking_output(new))


class WaitlistEntryOutputSerializer(serializers.ModelSerializer[WaitlistEntry]):
    service = serializers.CharField(source="service.code")

    class Meta:
        model = WaitlistEntry
        fields = ["id", "service", "day_from", "day_to", "status", "offer_expires_at"]


class WaitlistApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WaitlistEntryOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        entries = selectors.waitlist_list_for_user(user_id=request.user.pk)
        return Response(WaitlistEntryOutputSerializer(entries, many=True).data)

    @extend_schema(
        request=WaitlistJoinInputSerializer, responses={201: WaitlistEntryOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        rate_limit_consume(request=request, action="book")
        data = WaitlistJoinInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.waitlist_join(
            service=selectors.service_get_offered(code=data.validated_data["service"]),
            person=services.PersonInput(**data.validated_data["person"]),
            day_from=data.validated_data["day_from"],
            day_to=data.validated_data["day_to"],
            user=request.user,  # type: ignore[arg-type]
            language=translation.get_language() or "en",
            acting_user=request.user,  # type: ignore[arg-type]
        )
        return Response(WaitlistEntryOutputSerializer(entry).data, status=status.HTTP_201_CREATED)


class CheckInApi(APIView):
    """Staff: check a person in by the reference on their booking (404 for anyone else)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=CheckInInputSerializer, responses=BookingOutputSerializer)
    def post(self, request: Request) -> Response:
        staff_access(user=request.user, mission=request.tenant, action=Action.BOOKING_PROCESS)  # type: ignore[attr-defined]
        data = CheckInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = selectors.booking_get_by_reference(reference=data.validated_data["reference"])
        if booking is None:
            raise ApplicationError(CommonError.NOT_FOUND, _("No booking has this reference."))
        booking = services.booking_check_in(booking=booking, acting_user=request.user)  # type: ignore[arg-type]
        return Response(booking_output(booking))


urlpatterns = [
    path("services/", ServiceListApi.as_view(), name="api_services"),
    path(
        "availability/",
        public_response(AvailabilityFeedApi.as_view()),
        name="api_availability_feed",
    ),
    path("services/<slug:code>/slots/", AvailabilityApi.as_view(), name="api_slots"),
    path(
        "bookings/",
        refused_early_when_full(BookingListCreateApi.as_view()),
        name="api_bookings",
    ),
    path("bookings/<str:reference>/cancel/", BookingCancelApi.as_view(), name="api_cancel"),
    path(
        "bookings/<str:reference>/reschedule/",
        BookingRescheduleApi.as_view(),
        name="api_reschedule",
    ),
    path("waitlist/", WaitlistApi.as_view(), name="api_waitlist"),
    path("check-in/", CheckInApi.as_view(), name="api_check_in"),
]
