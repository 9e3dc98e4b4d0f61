"""The missions app's event topics (payloads in docs/events.md)."""

from consulate.kernel.events import EventTopic


class MissionTopic(EventTopic):
    MISSION_OPENED = "missions.mission.opened"
    MISSION_UPDATED = "missions.mission.updated"
    MEMBERSHIP_GRANTED = "missions.membership.granted"
    MEMBERSHIP_REVOKED = "missions.membership.revoked"
    DATA_KEY_ROTATED = "missions.data_key.rotated"
