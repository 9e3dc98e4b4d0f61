"""Visible digital seals (ICAO Doc 9303 Part 13) on the documents the system issues.

A pure library: no models, no settings. Keys and certificates come in as `cryptography`
objects; the apps that issue documents keep them.

    content = etd_content(mrz=...)              # or visa_content(...); profiles.py
    data = seal_issue(content=content, country="TUR", signer_key=..., signer_certificate=...,
                      issue_date=..., signature_date=...)
    png = seal_datamatrix_png(data)             # for the printed document
    seal = seal_decode(seal_extract(upload))    # SealError for anything malformed
    verdict = seal_verify(seal=seal, trust=seal_trust_load(bundle), at=now)
"""

from consulate.kernel.seal.barcode import seal_datamatrix_png, seal_datamatrix_read, seal_extract
from consulate.kernel.seal.c40 import c40_decode, c40_encode
from consulate.kernel.seal.errors import SealError, SealErrorCode
from consulate.kernel.seal.pki import (
    SealStatus,
    SealTrust,
    SealVerdict,
    country_alpha2,
    seal_issue,
    seal_revocation_list,
    seal_root_create,
    seal_signer_certify,
    seal_trust_dump,
    seal_trust_load,
    seal_verify,
)
from consulate.kernel.seal.profiles import (
    ETD_PROFILE,
    VISA_PROFILE,
    EmergencyTravelDocumentContent,
    MrvFormat,
    SealContent,
    SealProfile,
    StayDuration,
    VisaContent,
    etd_content,
    seal_content,
    seal_profile,
    visa_content,
)
from consulate.kernel.seal.vds import (
    Seal,
    SealFeature,
    SealHeader,
    date_decode,
    date_encode,
    seal_decode,
    seal_encode,
    seal_signature_verify,
)

__all__ = [
    "ETD_PROFILE",
    "VISA_PROFILE",
    "EmergencyTravelDocumentContent",
    "MrvFormat",
    "Seal",
    "SealContent",
    "SealError",
    "SealErrorCode",
    "SealFeature",
    "SealHeader",
    "SealProfile",
    "SealStatus",
    "SealTrust",
    "SealVerdict",
    "StayDuration",
    "VisaContent",
    "c40_decode",
    "c40_encode",
    "country_alpha2",
    "date_decode",
    "date_encode",
    "etd_content",
    "seal_content",
    "seal_datamatrix_png",
    "seal_datamatrix_read",
    "seal_decode",
    "seal_encode",
    "seal_extract",
    "seal_issue",
    "seal_profile",
    "seal_revocation_list",
    "seal_root_create",
    "seal_signature_verify",
    "seal_signer_certify",
    "seal_trust_dump",
    "seal_trust_load",
    "seal_verify",
    "visa_content",
]
