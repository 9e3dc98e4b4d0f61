"""The test provider's hosted page, served on the mission host as a real provider's would be
on its own. Not a production page: `fees.urls` mounts it only where `pages_enabled()`."""

from __future__ import annotations

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from ..money import Money
from .test_provider import TestProvider, checkout_answer, checkout_state, event_body, sign


def checkout(request: HttpRequest) -> HttpResponse:
    """Pay, decline or let it time out. On pay or decline it sends the signed webhook a real
    provider would, then sends the payer back. A checkout cancelled meanwhile (the payer
    started again, or the counter took the money another way) cannot be paid any more."""
    from ..services import payment_webhook_receive

    try:
        session = TestProvider.read_session(request.GET.get("s", ""))
    except signing.BadSignature as error:
        raise Http404 from error
    amount = Money(session["amount_minor"], session["currency"])
    back = str(session["back"])
    if not url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        raise Http404  # only a path on this host: the session is signed, but be strict
    if request.method == "POST" and checkout_state(session["ref"]) != "cancelled":
        action = request.POST.get("action")
        answer = {"pay": "paid", "decline": "declined"}.get(action or "")
        if answer and checkout_answer(session["ref"], answer) == answer:
            body = event_body(
                event_type="payment.succeeded" if action == "pay" else "payment.declined",
                provider_ref=session["ref"],
                amount_minor=amount.amount_minor,
                currency=amount.currency,
            )
            payment_webhook_receive(body=body, signature=sign(body))
            return redirect(back)
        if action == "timeout":
            return redirect(back)
    cancelled = checkout_state(session["ref"]) == "cancelled"
    return render(
        request,
        "fees/test_provider.html",
        {"amount": amount, "ref": session["ref"], "cancelled": cancelled, "back": back},
        status=409 if cancelled and request.method == "POST" else 200,
    )
