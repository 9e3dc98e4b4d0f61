"""Pages of the fees app on a mission host. Thin: parse input, call a service or selector,
show the message of an ApplicationError."""

from __future__ import annotations

import csv
import datetime as dt
import uuid

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from consulate.kernel.errors import ApplicationError
from missions.models import Mission
from missions.permissions import Action, staff_access

from . import selectors
from .forms import BankTransferForm, CounterForm, WaiverForm, parse_amount
from .models import PaymentMethod, PaymentStatus, Receipt
from .money import Money
from .pdf import receipt_pdf
from .providers.test_provider import TestProvider, event_body, sign
from .reference.models import ServiceCode
from .reference.selectors import exemption_category_list_active, fee_schedule_list_in_force
from .services import assessment as assessment_services
from .services import day_close as day_close_services
from .services import payment as payment_services
from .services import refund as refund_services
from .services import remittance as remittance_services
from .services.common import mission_today


def _mission(request: HttpRequest) -> Mission:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _staff(request: HttpRequest, action: Action = Action.FEES_VIEW) -> frozenset[Action]:
    return staff_access(user=request.user, mission=_mission(request), action=action)


def _fail(request: HttpRequest, error: ApplicationError | django_forms.ValidationError) -> None:
    message = error.message if isinstance(error, ApplicationError) else error.messages[0]
    messages.error(request, str(message))


@login_required
def counter(request: HttpRequest) -> HttpResponse:
    """Assess a walk-in: service, options, payer's name and receipt language."""
    _staff(request)
    mission = _mission(request)
    form = CounterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services = [data["service"]] + [c for c in ("express", "courier") if data[c]]
        try:
            assessment = assessment_services.assessment_create(
                mission=mission,
                subject_type="walk_in",
                subject_ref=data["reference"] or f"W-{uuid.uuid4().hex[:8].upper()}",
                payer_name=data["payer_name"],
                payer_language=data["payer_language"],
                services=services,
                acting_user=request.user,
            )
        except ApplicationError as error:
            _fail(request, error)
        else:
            return redirect("fees:assessment", pk=assessment.pk)
    quotes = []
    for entry in fee_schedule_list_in_force(on=mission_today(mission)):
        try:
            quotes.append(assessment_services.fee_quote(mission=mission, service=entry.service))
        except ApplicationError:
            continue
    return render(
        request,
        "fees/counter.html",
        {"form": form, "quotes": quotes, "recent": selectors.assessment_list_recent(limit=15)},
    )


@login_required
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    allowed = _staff(request)
    assessment = selectors.assessment_get(pk=pk)
    balance = selectors.assessment_balance(assessment=assessment)
    lines = selectors.fee_line_list(assessment=assessment)
    waiver_form = WaiverForm()
    category_field: django_forms.ChoiceField = waiver_form.fields["category"]  # type: ignore[assignment]
    category_field.choices = [(c.code, c.name) for c in exemption_category_list_active()]
    payments = list(assessment.payments.select_related("receipt").order_by("id"))
    return render(
        request,
        "fees/assessment_detail.html",
        {
            "assessment": assessment,
            "balance": balance,
            "lines": lines,
            "payments": payments,
            "waiver_form": waiver_form,
            "idempotency_key": uuid.uuid4().hex,
            "is_cashier": Action.CASH_TAKE in allowed,
            "can_expect_transfer": Action.BANK_TRANSFER_CHANGE in allowed,
            "transfers_expected": [
                p
                for p in payments
                if p.method == PaymentMethod.BANK_TRANSFER and p.status == PaymentStatus.PENDING
            ],
            "pay_url": request.build_absolute_uri(
                reverse("fees:pay", kwargs={"token": assessment.pay_token})
            ),
        },
    )


@login_required
@require_POST
def assessment_cash(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    assessment = selectors.assessment_get(pk=pk)
    try:
        amount = parse_amount(request.POST.get("amount", ""), assessment.currency)
        payment = payment_services.payment_take_cash(
            mission=_mission(request),
            assessment=assessment,
            amount=amount,
            idempotency_key=request.POST.get("idempotency_key", ""),
            acting_user=request.user,
        )
    except (ApplicationError, django_forms.ValidationError) as error:
        _fail(request, error)
    else:
        receipt = getattr(payment, "receipt", None)
        messages.success(
            request,
            _("Received %(amount)s. Receipt %(number)s.")
            % {"amount": payment.amount.format(request.LANGUAGE_CODE), "number": receipt},
        )
    return redirect("fees:assessment", pk=pk)


@login_required
@require_POST
def assessment_bank_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue the reference the payer quotes with their transfer; the assessment page shows it."""
    _staff(request, Action.BANK_TRANSFER_CHANGE)
    assessment = selectors.assessment_get(pk=pk)
    try:
        payment = payment_services.payment_bank_expect(
            mission=_mission(request),
            assessment=assessment,
            amount=parse_amount(request.POST.get("amount", ""), assessment.currency),
            idempotency_key=request.POST.get("idempotency_key", ""),
            acting_user=request.user,
        )
    except (ApplicationError, django_forms.ValidationError) as error:
        _fail(request, error)
    else:
        messages.success(
            request,
            _("Transfer reference %(reference)s issued for %(amount)s.")
            % {
                "reference": payment.bank_reference,
                "amount": payment.amount.format(request.LANGUAGE_CODE),
            },
        )
    return redirect("fees:assessment", pk=pk)


@login_required
@require_POST
def assessment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    try:
        assessment_services.assessment_cancel(
            assessment=selectors.assessment_get(pk=pk),
            acting_user=request.user,
            mission=_mission(request),
        )
    except ApplicationError as error:
        _fail(request, error)
    return redirect("fees:assessment", pk=pk)


@login_required
@require_POST
def waiver_request(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    assessment = selectors.assessment_get(pk=pk)
    line_pk = request.POST.get("line", "")
    line = selectors.fee_line_get(
        assessment=assessment, pk=int(line_pk) if line_pk.isdigit() else 0
    )
    age = request.POST.get("applicant_age", "").strip()
    try:
        assessment_services.waiver_request(
            line=line,
            category_code=request.POST.get("category", ""),
            reason=request.POST.get("reason", ""),
            applicant_age=int(age) if age.isdigit() else None,
            applicant_nationality=request.POST.get("applicant_nationality", ""),
            acting_user=request.user,
            mission=_mission(request),
        )
    except ApplicationError as error:
        _fail(request, error)
    else:
        messages.success(request, _("Waiver requested: a consul must approve it."))
    return redirect("fees:assessment", pk=pk)


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    _staff(request)
    return render(request, "fees/approvals.html", selectors.approvals_pending())


@login_required
@require_POST
def waiver_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    waiver = selectors.waiver_get(pk=pk)
    try:
        assessment_services.waiver_decide(
            waiver=waiver,
            approve=request.POST.get("decision") == "approve",
            acting_user=request.user,
            mission=_mission(request),
        )
    except ApplicationError as error:
        _fail(request, error)
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("fees:approvals")


@login_required
def receipt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    receipt = selectors.receipt_get(pk=pk)
    return render(
        request,
        "fees/receipt_detail.html",
        {"receipt": receipt, "credit_notes": receipt.credit_notes.order_by("id")},
    )


@login_required
def receipt_download(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    return _pdf_response(selectors.receipt_get(pk=pk), _mission(request))


def _pdf_response(receipt: Receipt, mission: Mission) -> HttpResponse:
    response = HttpResponse(receipt_pdf(receipt=receipt, mission=mission), "application/pdf")
    response["Content-Disposition"] = f'inline; filename="{receipt.number}.pdf"'
    return response


@login_required
@require_POST
def credit_note_request(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    receipt = selectors.receipt_get(pk=pk)
    try:
        refund_services.credit_note_request(
            receipt=receipt,
            amount=parse_amount(request.POST.get("amount", ""), receipt.currency),
            reason=request.POST.get("reason", ""),
            acting_user=request.user,
            mission=_mission(request),
        )
    except (ApplicationError, django_forms.ValidationError) as error:
        _fail(request, error)
    else:
        messages.success(request, _("Refund requested: a consul must approve it."))
    return redirect("fees:receipt", pk=pk)


@login_required
@require_POST
def credit_note_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    note = selectors.credit_note_get(pk=pk)
    try:
        note = refund_services.credit_note_decide(
            note=note,
            approve=request.POST.get("decision") == "approve",
            acting_user=request.user,
            mission=_mission(request),
        )
    except ApplicationError as error:
        _fail(request, error)
    else:
        messages.success(
            request,
            _("Credit note %(number)s issued.") % {"number": note.number}
            if note.number
            else _("Decision recorded."),
        )
    return redirect("fees:approvals")


@login_required
def day_close(request: HttpRequest) -> HttpResponse:
    _staff(request)
    mission = _mission(request)
    try:
        day = (
            dt.date.fromisoformat(request.GET.get("date", "")) if request.GET.get("date") else None
        )
    except ValueError:
        day = None
    day = day or mission_today(mission)
    drawers = selectors.drawer_expected(business_date=day)
    if request.method == "POST":
        try:
            counted: dict[int, Money] = {}
            reasons: dict[int, str] = {}
            for account, expected in drawers:
                cashier = int(account.qualifier)
                counted[cashier] = parse_amount(
                    request.POST.get(f"counted_{cashier}", ""), expected.currency
                )
                reasons[cashier] = request.POST.get(f"reason_{cashier}", "")
            day_close_services.day_close(
                mission=mission,
                business_date=day,
                counted=counted,
                reasons=reasons,
                acting_user=request.user,
            )
        except (ApplicationError, django_forms.ValidationError) as error:
            _fail(request, error)
        else:
            messages.success(request, _("The day %(date)s is closed.") % {"date": day})
            return redirect(f"{reverse('fees:report')}?from={day}&to={day}")
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk([int(a.qualifier) for a, _m in drawers])
    closed = selectors.day_is_closed(business_date=day)
    return render(
        request,
        "fees/day_close.html",
        {
            "day": day,
            "closed": closed,
            "counts": selectors.drawer_counts(business_date=day),
            "drawers": [
                {"cashier_id": int(a.qualifier), "user": users.get(int(a.qualifier)), "expected": m}
                for a, m in drawers
            ],
        },
    )


@login_required
def bank_transfer(request: HttpRequest) -> HttpResponse:
    """Record one incoming transfer from the bank statement; the service matches it."""
    _staff(request, Action.BANK_TRANSFER_CHANGE)
    mission = _mission(request)
    form = BankTransferForm(request.POST or None, currency=mission.currency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payment, created = payment_services.payment_bank_match(
                mission=mission,
                reference=data["reference"],
                amount=data["amount"],
                bank_transaction_id=data["bank_transaction_id"],
                value_date=data["value_date"],
                acting_user=request.user,
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
        else:
            values = {
                "amount": payment.amount.format(request.LANGUAGE_CODE),
                "id": payment.bank_transaction_id,
                "number": getattr(payment, "receipt", ""),
            }
            if created:
                messages.success(
                    request,
                    _("Transfer %(id)s of %(amount)s recorded. Receipt %(number)s.") % values,
                )
            else:
                messages.info(
                    request,
                    _(
                        "Transfer %(id)s was already recorded (receipt %(number)s); "
                        "nothing was posted again."
                    )
                    % values,
                )
            return redirect("fees:bank_transfer")
    return render(
        request,
        "fees/bank_transfer.html",
        {"form": form, "pending": selectors.payment_list_bank_pending()},
    )


def _date(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


@login_required
def report(request: HttpRequest) -> HttpResponseBase:
    _staff(request)
    mission = _mission(request)
    today = mission_today(mission)
    date_from = _date(request.GET.get("from"), today.replace(day=1))
    date_to = _date(request.GET.get("to"), today)
    rows = selectors.revenue_report(date_from=date_from, date_to=date_to)
    if request.GET.get("format") == "csv":
        return _csv(f"revenue-{mission.code}-{date_from}-{date_to}.csv", rows)
    labels = dict(ServiceCode.choices) | {
        "cash": _("Cash"),
        "card": _("Card"),
        "bank_transfer": _("Bank transfer"),
    }
    return render(
        request,
        "fees/report.html",
        {
            "rows": rows,
            "labels": labels,
            "date_from": date_from,
            "date_to": date_to,
            "assessed_total": selectors.report_totals(rows, "assessed"),
            "collected_total": selectors.report_totals(rows, "collected"),
        },
    )


def _csv(filename: str, rows: list[selectors.ReportRow]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(
        ["date", "section", "item", "currency", "amount", "base_currency", "base_amount"]
    )
    for r in rows:
        writer.writerow(
            [
                r.day.isoformat(),
                r.section,
                r.key,
                r.currency,
                f"{r.amount.to_decimal():f}",
                r.base_currency,
                f"{r.base_amount.to_decimal():f}",
            ]
        )
    return response


@login_required
def remittance(request: HttpRequest) -> HttpResponseBase:
    _staff(request)
    mission = _mission(request)
    month = _date(f"{request.GET.get('month', '')}-01", mission_today(mission).replace(day=1))
    statement = selectors.remittance_statement(
        month=month, currency=mission.currency, base_currency=settings.CONSULATE_BASE_CURRENCY
    )
    if request.GET.get("format") == "csv":
        return _csv(f"remittance-{mission.code}-{month:%Y-%m}.csv", statement.rows)
    if request.method == "POST":
        try:
            remittance_services.remittance_record(
                mission=mission,
                month=month,
                acting_user=request.user,
                base_currency=settings.CONSULATE_BASE_CURRENCY,
            )
        except ApplicationError as error:
            _fail(request, error)
        else:
            messages.success(request, _("The statement is recorded as owed to HQ."))
        return redirect(f"{reverse('fees:remittance')}?month={month:%Y-%m}")
    return render(
        request,
        "fees/remittance.html",
        {
            "statement": statement,
            "recorded": selectors.remittance_get(month=month),
            "month_over": month < mission_today(mission).replace(day=1),
            "previous": (month - dt.timedelta(days=1)).replace(day=1),
        },
    )


# --- the payer's side -------------------------------------------------------------------------


def pay(request: HttpRequest, token: str) -> HttpResponse:
    """The pay link a payer gets: their fees, what is left, and "pay by card"."""
    assessment = selectors.assessment_get_by_token(token=token)
    if request.method == "POST":
        try:
            amount = selectors.assessment_balance(assessment=assessment).outstanding
            _payment, redirect_url = payment_services.payment_card_start(
                mission=_mission(request),
                assessment=assessment,
                amount=amount,
                idempotency_key=request.POST.get("idempotency_key", ""),
                acting_user=request.user if request.user.is_authenticated else None,
                return_path=reverse("fees:pay", kwargs={"token": token}),
            )
        except ApplicationError as error:
            _fail(request, error)
        else:
            return redirect(redirect_url)
    return render(
        request,
        "fees/pay.html",
        {
            "assessment": assessment,
            "balance": selectors.assessment_balance(assessment=assessment),
            "lines": assessment.lines.order_by("id"),
            "payments": assessment.payments.select_related("receipt").order_by("id"),
            "idempotency_key": uuid.uuid4().hex,
        },
    )


def pay_receipt(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    assessment = selectors.assessment_get_by_token(token=token)
    return _pdf_response(
        selectors.receipt_get_for_payer(assessment=assessment, pk=pk), _mission(request)
    )


# --- the built-in test provider ----------------------------------------------------------------


def test_provider_checkout(request: HttpRequest) -> HttpResponse:
    """The test provider's hosted page: pay, decline or let it time out. On pay or decline it
    sends the signed webhook a real provider would, then sends the payer back."""
    if not _test_provider_enabled():
        raise Http404
    try:
        session = TestProvider.read_session(request.GET.get("s", ""))
    except Exception as error:
        raise Http404 from error
    amount = Money(session["amount_minor"], session["currency"])
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("pay", "decline"):
            body = event_body(
                event_type="payment.succeeded" if action == "pay" else "payment.declined",
                provider_ref=session["ref"],
                amount_minor=amount.amount_minor,
                currency=amount.currency,
            )
            payment_services.payment_webhook_receive(
                mission=_mission(request), body=body, signature=sign(body)
            )
        return redirect(session["back"])
    return render(request, "fees/test_provider.html", {"amount": amount, "ref": session["ref"]})


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> JsonResponse:
    try:
        outcome = payment_services.payment_webhook_receive(
            mission=_mission(request),
            body=request.body,
            signature=request.headers.get("X-Test-Signature", ""),
            provider_name=provider,
        )
    except LookupError as error:
        raise Http404 from error
    except ApplicationError as error:
        return JsonResponse(error.as_dict(), status=400)
    return JsonResponse({"outcome": outcome})


def _test_provider_enabled() -> bool:
    """The test provider's page exists in development, the demo and tests, never in production
    (production settings turn DEBUG and DEMO_MODE off)."""
    return bool(settings.DEBUG or getattr(settings, "DEMO_MODE", False)) or str(
        settings.SETTINGS_MODULE
    ) in {"consulate.settings.local", "consulate.settings.test"}
