"""Pages of the fees app on a mission host. Thin: a form parses the input, a service decides
and writes, a selector reads; the page shows the message of an ApplicationError and answers
with its `http_status`.

Who sees a page is the permission table's answer (`staff_access`: 404 unless the person may);
what a page offers (buttons, forms) follows the same table in the templates (`permissions`);
the services check the table again whatever the page did.
"""

from __future__ import annotations

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

from consulate.kernel.errors import (
    ApplicationError,
    error_shown,
    form_error_shown,
    form_read,
    form_refused_in_text,
)
from consulate.kernel.http import csv_response, query_string_cleaned_by
from missions.models import Mission
from missions.permissions import Action, staff_access

from . import exporters, selectors, services
from .error_codes import FeeError
from .forms import (
    AmountForm,
    AssessmentSearchForm,
    BankTransferForm,
    CounterForm,
    DayCloseForm,
    DayForm,
    MonthForm,
    PeriodForm,
    ReferenceQuoteForm,
    WaiverForm,
)
from .models import Assessment, Payment, PaymentMethod, PaymentStatus, Receipt
from .money import Money
from .pdf import credit_note_pdf, equivalent_lines, receipt_pdf


def _mission(request: HttpRequest) -> Mission:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _staff(request: HttpRequest, action: Action = Action.FEES_VIEW) -> frozenset[Action]:
    return staff_access(user=request.user, mission=_mission(request), action=action)


# --- the counter and an assessment -------------------------------------------------------------


@query_string_cleaned_by(ReferenceQuoteForm, AssessmentSearchForm)
@login_required
def counter(request: HttpRequest) -> HttpResponse:
    """Assess a walk-in: service, options, payer's name and receipt language. A case quoted
    (`?reference=`, or the reference of a charge refused) shows its fees charged already, which
    the form does not offer. Exact search of the mission's assessments by payer's name or
    reference (`?q=`)."""
    _staff(request)
    if request.method == "POST":
        _staff(request, Action.ASSESSMENT_CHANGE)
    quote = ReferenceQuoteForm(request.GET)
    quoted = quote.quoted()
    form = CounterForm(
        request.POST if request.method == "POST" else None, initial={"reference": quoted}
    )
    search = AssessmentSearchForm(request.GET)
    status = 200 if quote.is_valid() and search.is_valid() else 400
    query = search.query()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            assessment = services.assessment_create(
                subject_type="walk_in",
                subject_ref=data["reference"] or f"W-{uuid.uuid4().hex[:8].upper()}",
                payer_name=data["payer_name"],
                payer_language=data["payer_language"],
                services=form.services(),
                acting_user=request.user,
            )
        except ApplicationError as error:
            if error.code == FeeError.ALREADY_CHARGED and data["reference"]:
                # beside the reference, and the assessment that charged it listed below
                status, query = error.http_status, data["reference"].strip()
                quoted = query
                form.add_error("reference", str(error.message))
                # and in the box that quotes a case, as if the cashier had quoted it first
                quote = ReferenceQuoteForm({"reference": quoted})
            else:
                status = error_shown(request, error)
        else:
            return redirect("fees:assessment", pk=assessment.pk)
    elif request.method == "POST":
        status = 400  # each reason beside its field and in the page's error summary
    charged = selectors.reference_fees_charged(reference=quoted) if quoted else []
    form.fees_withheld({code for fees in charged for code in fees.services})
    return render(
        request,
        "fees/counter.html",
        {
            "form": form,
            "quote": quote,
            "quoted": quoted,
            "charged": charged,
            "quotes": selectors.fee_quote_list_today(),
            "search": search,
            "query": query,
            "recent": (
                selectors.assessment_search(query=query)
                if query
                else selectors.assessment_list_recent(limit=15)
            ),
        },
        status=status,
    )


def _in_progress(payments: list[Payment], method: str) -> list[Payment]:
    """The payments of `method` still waiting (a card checkout, a transfer expected)."""
    return [p for p in payments if p.method == method and p.status == PaymentStatus.PENDING]


def _assessment_page(
    request: HttpRequest,
    assessment: Assessment,
    status: int = 200,
    *,
    confirm_cash: Money | None = None,
    confirm_key: str = "",
    cash_typed: str | None = None,
    cash_error: str = "",
) -> HttpResponse:
    """The assessment; with `confirm_cash`, the cash typed is shown back to be confirmed (with
    the idempotency key of the form that sent it, so a second press takes it once); with
    `cash_typed`, the cash form shows what was typed again, with `cash_error`, why it was
    refused, beside the box."""
    balance = selectors.assessment_balance(assessment=assessment)
    payments = selectors.payment_list(assessment=assessment)
    lines = selectors.fee_line_list(assessment=assessment)
    return render(
        request,
        "fees/assessment_detail.html",
        {
            "assessment": assessment,
            "balance": balance,
            "lines": lines,
            # the rate of every line, when they share one (assessed together, they do)
            "one_rate": lines[0] if len({(x.rate, x.rate_date) for x in lines}) == 1 else None,
            "payments": payments,
            "waiver_form": WaiverForm(),
            "idempotency_key": uuid.uuid4().hex,
            "confirm_cash": confirm_cash,
            "confirm_key": confirm_key,
            "cash_typed": cash_typed,
            "cash_error": cash_error,
            "transfers_expected": _in_progress(payments, PaymentMethod.BANK_TRANSFER),
            "cards_in_progress": _in_progress(payments, PaymentMethod.CARD),
            "pay_url": request.build_absolute_uri(
                reverse("fees:pay", kwargs={"token": assessment.pay_token})
            ),
        },
        status=status,
    )


@login_required
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    try:
        assessment = selectors.assessment_get_for_staff(pk=pk, acting_user=request.user)
    except ApplicationError as error:
        raise Http404 from error
    return _assessment_page(request, assessment)


@login_required
@require_POST
def assessment_cash(request: HttpRequest, pk: int) -> HttpResponse:
    """Cash in two steps: the amount typed (in the reader's locale) is shown back, and the
    receipt is issued only once the cashier confirms that amount."""
    _staff(request, Action.CASH_TAKE)
    assessment = selectors.assessment_get(pk=pk)
    form = AmountForm(request.POST, currency=assessment.currency)
    try:
        if not form.is_valid():
            raise django_forms.ValidationError(next(iter(form.errors.values()))[0])
        if not form.cleaned_data["confirmed"]:
            services.payment_request_check(
                assessment=assessment,
                amount=form.cleaned_data["amount"],
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
            return _assessment_page(
                request,
                assessment,
                confirm_cash=form.cleaned_data["amount"],
                confirm_key=form.cleaned_data["idempotency_key"],
            )
        payment = services.payment_take_cash(
            assessment=assessment,
            amount=form.cleaned_data["amount"],
            idempotency_key=form.cleaned_data["idempotency_key"],
            acting_user=request.user,
        )
    except (ApplicationError, django_forms.ValidationError) as error:
        typed = request.POST.get("amount")
        if typed is None:  # a confirmed amount refused: no box holds it, the page says why
            return _assessment_page(request, assessment, status=error_shown(request, error))
        # an amount typed: its reason beside the box that holds it (aria-describedby)
        return _assessment_page(
            request,
            assessment,
            status=error.http_status if isinstance(error, ApplicationError) else 400,
            cash_typed=typed,
            cash_error=str(
                error.message if isinstance(error, ApplicationError) else error.messages[0]
            ),
        )
    messages.success(
        request,
        _("Received %(amount)s. Receipt %(number)s.")
        % {
            "amount": payment.amount.format(request.LANGUAGE_CODE),
            "number": getattr(payment, "receipt", None),
        },
    )
    return redirect("fees:assessment", pk=pk)


@login_required
@require_POST
def assessment_bank_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue the reference the payer quotes with their transfer; the assessment page shows it."""
    _staff(request, Action.BANK_TRANSFER_CHANGE)
    assessment = selectors.assessment_get(pk=pk)
    form = AmountForm(request.POST, currency=assessment.currency)
    try:
        if not form.is_valid():
            raise django_forms.ValidationError(next(iter(form.errors.values()))[0])
        payment = services.payment_bank_expect(
            assessment=assessment,
            amount=form.cleaned_data["amount"],
            idempotency_key=form.cleaned_data["idempotency_key"],
            acting_user=request.user,
        )
    except (ApplicationError, django_forms.ValidationError) as error:
        return _assessment_page(request, assessment, status=error_shown(request, error))
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
def payment_card_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a card checkout still in progress (at the provider too), so that the counter can
    take the money another way."""
    _staff(request, Action.ASSESSMENT_CHANGE)
    payment = selectors.payment_get(pk=pk)
    try:
        services.payment_card_cancel(payment=payment, acting_user=request.user)
    except ApplicationError as error:
        return _assessment_page(request, payment.assessment, status=error_shown(request, error))
    messages.success(
        request,
        _("The card payment of %(amount)s is cancelled: the payer can no longer pay it.")
        % {"amount": payment.amount.format(request.LANGUAGE_CODE)},
    )
    return redirect("fees:assessment", pk=payment.assessment_id)


@login_required
@require_POST
def assessment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request, Action.ASSESSMENT_CHANGE)
    assessment = selectors.assessment_get(pk=pk)
    try:
        services.assessment_cancel(assessment=assessment, acting_user=request.user)
    except ApplicationError as error:
        return _assessment_page(request, assessment, status=error_shown(request, error))
    return redirect("fees:assessment", pk=pk)


@login_required
@require_POST
def waiver_request(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request, Action.ASSESSMENT_CHANGE)
    assessment = selectors.assessment_get(pk=pk)
    form = WaiverForm(request.POST)
    if not form.is_valid():
        return _assessment_page(request, assessment, status=form_error_shown(request, form))
    data = form.cleaned_data
    try:
        services.waiver_request(
            line=selectors.fee_line_get(assessment=assessment, pk=data["line"]),
            category_code=data["category"],
            reason=data["reason"],
            applicant_age=data["applicant_age"],
            applicant_nationality=data["applicant_nationality"],
            acting_user=request.user,
        )
    except ApplicationError as error:
        return _assessment_page(request, assessment, status=error_shown(request, error))
    messages.success(request, _("Waiver requested: a consul must approve it."))
    return redirect("fees:assessment", pk=pk)


# --- approvals (four eyes) ---------------------------------------------------------------------


def _approvals_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    return render(request, "fees/approvals.html", selectors.approvals_pending(), status=status)


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    _staff(request)
    return _approvals_page(request)


@login_required
@require_POST
def waiver_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request, Action.FEES_APPROVE)
    try:
        services.waiver_decide(
            waiver=selectors.waiver_get(pk=pk),
            approve=request.POST.get("decision") == "approve",
            acting_user=request.user,
        )
    except ApplicationError as error:
        return _approvals_page(request, status=error_shown(request, error))
    messages.success(request, _("Decision recorded."))
    return redirect("fees:approvals")


@login_required
@require_POST
def credit_note_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request, Action.FEES_APPROVE)
    try:
        note = services.credit_note_decide(
            note=selectors.credit_note_get(pk=pk),
            approve=request.POST.get("decision") == "approve",
            acting_user=request.user,
        )
    except ApplicationError as error:
        return _approvals_page(request, status=error_shown(request, error))
    messages.success(
        request,
        _("Credit note %(number)s issued.") % {"number": note.number}
        if note.number
        else _("Decision recorded."),
    )
    return redirect("fees:approvals")


# --- receipts and refunds ----------------------------------------------------------------------


def _receipt_page(request: HttpRequest, receipt: Receipt, status: int = 200) -> HttpResponse:
    """The receipt as its PDF says it, in the reader's language: what was due, paid and left."""
    return render(
        request,
        "fees/receipt_detail.html",
        {
            "receipt": receipt,
            "standing": selectors.receipt_standing(receipt=receipt),
            "equivalent": equivalent_lines(
                base=receipt.base_amount,
                amount=receipt.amount,
                rate=receipt.rate,
                locale=request.LANGUAGE_CODE,
            )
            if receipt.base_currency != receipt.currency
            else [],
            "credit_notes": selectors.credit_note_list(receipt=receipt),
        },
        status=status,
    )


@login_required
def receipt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    return _receipt_page(request, selectors.receipt_get(pk=pk))


@login_required
def receipt_download(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request)
    return _pdf_response(selectors.receipt_get(pk=pk), _mission(request))


def _pdf_response(receipt: Receipt, mission: Mission) -> HttpResponse:
    return _pdf(receipt_pdf(receipt=receipt, mission=mission), receipt.number)


def _pdf(content: bytes, number: str) -> HttpResponse:
    response = HttpResponse(content, "application/pdf")
    response["Content-Disposition"] = f'inline; filename="{number}.pdf"'
    return response


@login_required
def credit_note_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF of an approved credit note (one not approved has no number and no PDF)."""
    _staff(request)
    note = selectors.credit_note_get_issued(pk=pk)
    return _pdf(credit_note_pdf(note=note, mission=_mission(request)), note.number)


@login_required
@require_POST
def credit_note_request(request: HttpRequest, pk: int) -> HttpResponse:
    _staff(request, Action.ASSESSMENT_CHANGE)
    receipt = selectors.receipt_get(pk=pk)
    form = AmountForm(request.POST, currency=receipt.currency)
    try:
        if not form.is_valid():
            raise django_forms.ValidationError(next(iter(form.errors.values()))[0])
        services.credit_note_request(
            receipt=receipt,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            acting_user=request.user,
        )
    except (ApplicationError, django_forms.ValidationError) as error:
        return _receipt_page(request, receipt, status=error_shown(request, error))
    messages.success(request, _("Refund requested: a consul must approve it."))
    return redirect("fees:receipt", pk=pk)


# --- the day, transfers, reports ---------------------------------------------------------------


@login_required
def day_close(request: HttpRequest) -> HttpResponse:
    _staff(request)
    if request.method == "POST":
        _staff(request, Action.DAY_CLOSE)
    day = DayForm.day(request.GET, default=_mission(request).today())
    drawers = selectors.drawer_expected(business_date=day)
    form = DayCloseForm(request.POST if request.method == "POST" else None, drawers=drawers)
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = form_error_shown(request, form)
        else:
            try:
                services.day_close(
                    business_date=day,
                    counted=form.cleaned_data["counted"],
                    reasons=form.cleaned_data["reasons"],
                    acting_user=request.user,
                )
            except ApplicationError as error:
                status = error_shown(request, error)
            else:
                messages.success(request, _("The day %(date)s is closed.") % {"date": day})
                return redirect(f"{reverse('fees:report')}?from={day}&to={day}")
    return render(
        request,
        "fees/day_close.html",
        {
            "day": day,
            "closed": selectors.day_is_closed(business_date=day),
            "counts": selectors.drawer_counts(business_date=day),
            "drawers": selectors.drawer_list(drawers=drawers),
        },
        status=status,
    )


@login_required
def bank_transfer(request: HttpRequest) -> HttpResponse:
    """Record one incoming transfer from the bank statement; the service matches it."""
    _staff(request, Action.BANK_TRANSFER_CHANGE)
    form = BankTransferForm(
        request.POST if request.method == "POST" else None, currency=_mission(request).currency
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payment, created = services.payment_bank_match(
                reference=data["reference"],
                amount=data["amount"],
                bank_transaction_id=data["bank_transaction_id"],
                value_date=data["value_date"],
                acting_user=request.user,
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.message))
            status = error.http_status
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
    elif request.method == "POST":
        status = 400  # each reason beside its field and in the page's error summary
    return render(
        request,
        "fees/bank_transfer.html",
        {"form": form, "pending": selectors.payment_list_bank_pending()},
        status=status,
    )


@query_string_cleaned_by(PeriodForm)
@login_required
def report(request: HttpRequest) -> HttpResponseBase:
    """The revenue report of `?from=&to=` (CSV with `?format=csv`). Dates it cannot honour
    answer 400 with the reasons beside the fields and in an error summary, never the report
    of another period; the CSV answers them in plain text."""
    _staff(request, Action.REPORT_VIEW)
    mission = _mission(request)
    form = PeriodForm(request.GET, today=mission.today())
    if request.GET.get("format") == "csv":
        content = form_read(
            form,
            lambda: exporters.report_csv(
                date_from=form.period()[0], date_to=form.period()[1], acting_user=request.user
            ),
        )
        if content is None:
            return form_refused_in_text(form)
        date_from, date_to = form.period()
        return csv_response(f"revenue-{mission.code}-{date_from}-{date_to}.csv", content)
    rows = form_read(
        form,
        lambda: selectors.revenue_report(date_from=form.period()[0], date_to=form.period()[1]),
    )
    date_from, date_to = form.period()
    return render(
        request,
        "fees/report.html",
        {
            "form": form,
            "refused": rows is None,
            "days": selectors.report_by_day(rows or []),
            "date_from": date_from,
            "date_to": date_to,
            "assessed_total": selectors.report_totals(rows or [], "assessed"),
            "collected_total": selectors.report_totals(rows or [], "collected"),
        },
        status=200 if rows is not None else 400,
    )


@login_required
def remittance(request: HttpRequest) -> HttpResponseBase:
    _staff(request, Action.REPORT_VIEW)
    if request.method == "POST":
        _staff(request, Action.REMITTANCE_CHANGE)
    mission = _mission(request)
    today = mission.today()
    month = MonthForm.month_of(request.GET, today=today)
    if request.GET.get("format") == "csv":
        return csv_response(
            f"remittance-{mission.code}-{month:%Y-%m}.csv",
            exporters.remittance_csv(month=month, acting_user=request.user),
        )
    statement = selectors.remittance_statement(
        month=month, currency=mission.currency, base_currency=settings.CONSULATE_BASE_CURRENCY
    )
    status = 200
    if request.method == "POST":
        try:
            services.remittance_record(
                month=month,
                acting_user=request.user,
                base_currency=settings.CONSULATE_BASE_CURRENCY,
            )
        except ApplicationError as error:
            status = error_shown(request, error)
        else:
            messages.success(request, _("The statement is recorded as owed to HQ."))
            return redirect(f"{reverse('fees:remittance')}?month={month:%Y-%m}")
    return render(
        request,
        "fees/remittance.html",
        {
            "statement": statement,
            "days": selectors.report_by_day(statement.rows),
            "recorded": selectors.remittance_get(month=month),
            "month_over": month < today.replace(day=1),
            "previous": selectors.month_before(month),
        },
        status=status,
    )


# --- the payer's side and the provider's -------------------------------------------------------


def pay(request: HttpRequest, token: str) -> HttpResponse:
    """The pay link a payer gets: their fees, what is left, and "pay by card". A card payment
    in progress never blocks it: the payer may go back to it, or start again (the earlier one
    is cancelled at the provider first)."""
    assessment = selectors.assessment_get_by_token(token=token)
    status = 200
    if request.method == "POST":
        try:
            _payment, redirect_url = services.payment_card_start(
                assessment=assessment,
                amount=selectors.assessment_balance(assessment=assessment).card_payable,
                idempotency_key=request.POST.get("idempotency_key", ""),
                acting_user=request.user if request.user.is_authenticated else None,
                return_path=reverse("fees:pay", kwargs={"token": token}),
            )
        except ApplicationError as error:
            status = error_shown(request, error)
        else:
            return redirect(redirect_url)
    payments = selectors.payment_list(assessment=assessment)
    return render(
        request,
        "fees/pay.html",
        {
            "assessment": assessment,
            "balance": selectors.assessment_balance(assessment=assessment),
            "lines": selectors.fee_line_list(assessment=assessment),
            "payments": payments,
            "cards_in_progress": _in_progress(payments, PaymentMethod.CARD),
            "transfers_expected": _in_progress(payments, PaymentMethod.BANK_TRANSFER),
            "idempotency_key": uuid.uuid4().hex,
        },
        status=status,
    )


def pay_receipt(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    assessment = selectors.assessment_get_by_token(token=token)
    return _pdf_response(
        selectors.receipt_get_for_payer(assessment=assessment, pk=pk), _mission(request)
    )


def pay_credit_note(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    """The payer's copy of a credit note on their pay link."""
    assessment = selectors.assessment_get_by_token(token=token)
    note = selectors.credit_note_get_issued(pk=pk, assessment=assessment)
    return _pdf(credit_note_pdf(note=note, mission=_mission(request)), note.number)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> JsonResponse:
    try:
        outcome = services.payment_webhook_receive(
            body=request.body,
            signature=request.headers.get("X-Test-Signature", ""),
            provider_name=provider,
        )
    except LookupError as error:
        raise Http404 from error
    except ApplicationError as error:
        return JsonResponse(error.as_dict(), status=error.http_status)
    return JsonResponse({"outcome": outcome})
