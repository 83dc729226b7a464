"""The CI room: `grade check` on a student repository (grade.yaml, grading, CI outputs)."""
