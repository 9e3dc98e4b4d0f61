"""Sync's own event topics (payloads in docs/events.md)."""

from consulate.kernel.events import EventTopic


class SyncTopic(EventTopic):
    # a new signing key, announced in a bundle signed by the key before it (HQ registers it)
    SIGNING_KEY_ROTATED = "sync.signing_key.rotated"
