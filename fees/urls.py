from django.urls import URLPattern, URLResolver, path

from . import views
from .providers import test_provider

app_name = "fees"

urlpatterns: list[URLPattern | URLResolver] = [
    path("fees/counter/", views.counter, name="counter"),
    path("fees/assessments/<int:pk>/", views.assessment_detail, name="assessment"),
    path("fees/assessments/<int:pk>/cash/", views.assessment_cash, name="assessment_cash"),
    path(
        "fees/assessments/<int:pk>/bank-transfer/",
        views.assessment_bank_transfer,
        name="assessment_bank_transfer",
    ),
    path("fees/assessments/<int:pk>/cancel/", views.assessment_cancel, name="assessment_cancel"),
    path(
        "fees/payments/<int:pk>/cancel-card/",
        views.payment_card_cancel,
        name="payment_card_cancel",
    ),
    path("fees/assessments/<int:pk>/waiver/", views.waiver_request, name="waiver_request"),
    path("fees/approvals/", views.approvals, name="approvals"),
    path("fees/waivers/<int:pk>/decide/", views.waiver_decide, name="waiver_decide"),
    path("fees/receipts/<int:pk>/", views.receipt_detail, name="receipt"),
    path("fees/receipts/<int:pk>/pdf/", views.receipt_download, name="receipt_pdf"),
    path("fees/receipts/<int:pk>/refund/", views.credit_note_request, name="refund_request"),
    path("fees/credit-notes/<int:pk>/decide/", views.credit_note_decide, name="credit_note_decide"),
    path("fees/credit-notes/<int:pk>/pdf/", views.credit_note_download, name="credit_note_pdf"),
    path("fees/bank-transfers/", views.bank_transfer, name="bank_transfer"),
    path("fees/day-close/", views.day_close, name="day_close"),
    path("fees/reports/", views.report, name="report"),
    path("fees/remittance/", views.remittance, name="remittance"),
    path("fees/webhooks/<slug:provider>/", views.webhook, name="webhook"),
    path("pay/<str:token>/", views.pay, name="pay"),
    path("pay/<str:token>/receipts/<int:pk>.pdf", views.pay_receipt, name="pay_receipt"),
    path(
        "pay/<str:token>/credit-notes/<int:pk>.pdf",
        views.pay_credit_note,
        name="pay_credit_note",
    ),
]

if test_provider.pages_enabled():
    from .providers import test_provider_pages

    urlpatterns += [
        path("test-provider/checkout/", test_provider_pages.checkout, name="test_provider"),
    ]
