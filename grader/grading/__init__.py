"""The grading room: stage a submission, load it, run the checks on the host, score."""
