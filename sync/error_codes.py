"""Sync's error codes. A bundle refused at HQ is logged with one of the `BundleRefusal` codes
(`sync.hq.models.RefusedBundle.reason`); the mission reads the same code in HQ's answer."""

import enum


class SyncError(enum.Enum):
    NOT_CONFIGURED = "sync.not_configured"  # no HQ address, no key
    UNREACHABLE = "sync.unreachable"  # HQ did not answer (the push is retried with backoff)
    FILE_INVALID = "sync.file_invalid"  # a file that is no bundle file, or not for us


class BundleRefusal(enum.Enum):
    MALFORMED = "sync.bundle.malformed"  # not a frame, not canonical JSON, fields missing
    TOO_LARGE = "sync.bundle.too_large"
    UNKNOWN_MISSION = "sync.bundle.unknown_mission"
    UNKNOWN_KEY = "sync.bundle.unknown_key"  # no such key for this mission (or another's key)
    REVOKED_KEY = "sync.bundle.revoked_key"
    BAD_SIGNATURE = "sync.bundle.bad_signature"  # tampered: one byte anywhere
    INCONSISTENT = "sync.bundle.inconsistent"  # header and events disagree (count, range)
    CHAIN_BROKEN = "sync.bundle.chain_broken"  # prev_hash is not the hash of the bundle before
    CONFLICT = "sync.bundle.conflict"  # an event HQ has with another content (kept, logged)
