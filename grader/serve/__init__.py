"""`grade serve`: the grading service (docs/service.md)."""
