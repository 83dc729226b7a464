"""The batch room: a whole class at once (intake of LMS exports, worker processes, progress)."""
