"""The one error hierarchy of the tool. The CLI maps each to a one-line message and an exit code."""


class ScorecardError(Exception):
    """A problem the user can fix; the message says what and how. Exit code 1."""

    exit_code = 1


class UsageError(ScorecardError):
    """A bad option or argument (unknown period form, invalid setting). Exit code 2."""

    exit_code = 2


class DataError(ScorecardError):
    """The input data cannot produce a trustworthy scorecard. Exit code 1.

    `problems` holds one line per problem (file, column, rows, what to do).
    """

    def __init__(self, problems: list[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(problems))


class StaleDataError(ScorecardError):
    """The newest order is older than --require-fresh allows. Exit code 3."""

    exit_code = 3


class LockedError(ScorecardError):
    """Another build holds the output folder. Exit code 4."""

    exit_code = 4


class SourceError(ScorecardError):
    """The data source cannot be read: a database that cannot be reached, refuses the login, lacks a
    table or a permission, or stops a read. Exit code 1. Messages never hold a password."""


class DeliveryError(ScorecardError):
    """Sending failed (the server, TLS, login, or a recipient refused). Exit code 5. What was sent
    before the failure stays recorded; the rest goes out on the next run."""

    exit_code = 5
