"""The passports app's services (re-exported: `from passports.services import ...`)."""

from .application import (
    DraftSaved,
    PhotoResult,
    application_draft_save,
    application_missing,
    application_photo_add,
    application_start,
    application_submit,
    application_visit_book,
    application_withdraw,
    visit_due_require,
    visit_service,
)
from .casework import (
    application_biometrics_take,
    application_decide,
    application_paid,
    application_recommend,
    application_return,
)
from .delivery import (
    application_arrival_record,
    application_collect,
    application_dispatch_receive,
    dispatches_receive,
)
from .report import (
    document_index,
    document_report_by_citizen,
    document_report_take,
    document_reported,
)

__all__ = [
    "DraftSaved",
    "PhotoResult",
    "application_arrival_record",
    "application_biometrics_take",
    "application_collect",
    "application_decide",
    "application_dispatch_receive",
    "application_draft_save",
    "application_missing",
    "application_paid",
    "application_photo_add",
    "application_recommend",
    "application_return",
    "application_start",
    "application_submit",
    "application_visit_book",
    "application_withdraw",
    "dispatches_receive",
    "document_index",
    "document_report_by_citizen",
    "document_report_take",
    "document_reported",
    "visit_due_require",
    "visit_service",
]
from .etd import *  # noqa: F403 - emergency travel documents (services/etd.py)
