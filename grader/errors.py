"""The one exception tree of the grader, and the exit code each maps to.

    GraderError                 exit 1 (should not normally escape)
    ├── UsageError              exit 2: the user asked for something wrong
    │   ├── SpecError           an exercise spec does not parse or is invalid
    │   ├── ExerciseNotFound    an unknown exercise id
    │   ├── SubmissionPathError a missing or unreadable submission path
    │   └── ServiceRefusal      `grade serve` refused a request (token, assignment, limit)
    └── InfraError              exit 3: the machine cannot grade right now
        ├── DockerUnavailable   no Docker engine reachable
        ├── ImageBuildError     the sandbox image cannot be built
        └── SandboxError        the engine failed while running a sandbox

Problems in the *student's* code are not exceptions here: they are graded
outcomes (status ``error`` or ``timeout``) recorded in the result.
Only the CLI catches these; each message names the input, the place and the fix.
"""

from __future__ import annotations


class GraderError(Exception):
    """Base of every error the grader raises on purpose."""

    exit_code = 1


class UsageError(GraderError):
    exit_code = 2


class SpecError(UsageError):
    """A spec file that does not parse or breaks the spec language."""

    def __init__(self, path: str, line: int | None, field: str, problem: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


class ExerciseNotFound(UsageError):
    pass


class SubmissionPathError(UsageError):
    pass


class InfraError(GraderError):
    exit_code = 3


class DockerUnavailable(InfraError):
    pass


class ImageBuildError(InfraError):
    pass


class SandboxError(InfraError):
    pass


class ServiceRefusal(UsageError):
    """`grade serve` refuses a request; ``reason`` says which case (exit 2 for the CLI).

    Reasons: ``token`` (a bad token), ``assignment`` (unknown), ``closed``, ``limit``,
    ``forbidden``, ``upload`` (the intake refused the files).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
