import enum


class MissionError(enum.Enum):
    INVALID = "mission_invalid"
    CODE_TAKEN = "mission_code_taken"
    NOT_FOUND = "not_found"
