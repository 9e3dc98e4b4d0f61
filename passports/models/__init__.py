from .application import (
    APPLICATION_TRANSITIONS,
    IN_PROGRESS,
    OPEN,
    REPLACING,
    REPORTING,
    Application,
    ApplicationKind,
    ApplicationStatus,
    ApplicationStep,
    Recommendation,
    Sex,
    Step,
)
from .evidence import Finger, FingerprintCapture, Photo, PhotoAttempt
from .report import DocumentReport, ReportKind

__all__ = [
    "APPLICATION_TRANSITIONS",
    "IN_PROGRESS",
    "OPEN",
    "REPLACING",
    "REPORTING",
    "Application",
    "ApplicationKind",
    "ApplicationStatus",
    "ApplicationStep",
    "DocumentReport",
    "Finger",
    "FingerprintCapture",
    "Photo",
    "PhotoAttempt",
    "Recommendation",
    "ReportKind",
    "Sex",
    "Step",
]
from .etd import *  # noqa: F403 - the emergency travel document (passports/models/etd.py)
from .signer import DocumentSigner  # noqa: F401
