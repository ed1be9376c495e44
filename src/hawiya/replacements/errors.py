"""Stable error codes of replacement requests (pages and APIs turn them into messages)."""

REPLACEMENT_NOT_FOUND = "replacement_not_found"
REPLACEMENT_STATE_CONFLICT = "replacement_state_conflict"
