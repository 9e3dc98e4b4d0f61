from .appeal import APPEAL_TRANSITIONS, Appeal, AppealStatus
from .application import (
    CLOCK_RUNNING,
    DECIDED,
    IN_PROGRESS,
    OPEN,
    VISA_TRANSITIONS,
    Entries,
    Recommendation,
    RefusalGround,
    Sex,
    Step,
    VisaApplication,
    VisaStatus,
    VisaStep,
)
from .evidence import ItemReview, ReviewStatus, Upload, UploadKind
from .numbers import VisaNumberBlock
from .screening import HitResolution, HitSource, Screening, ScreeningHit, ScreeningResult

__all__ = [
    "APPEAL_TRANSITIONS",
    "CLOCK_RUNNING",
    "DECIDED",
    "IN_PROGRESS",
    "OPEN",
    "VISA_TRANSITIONS",
    "Appeal",
    "AppealStatus",
    "Entries",
    "HitResolution",
    "HitSource",
    "ItemReview",
    "Recommendation",
    "RefusalGround",
    "ReviewStatus",
    "Screening",
    "ScreeningHit",
    "ScreeningResult",
    "Sex",
    "Step",
    "Upload",
    "UploadKind",
    "VisaApplication",
    "VisaNumberBlock",
    "VisaStatus",
    "VisaStep",
]
