"""The one error hierarchy of the tool. The CLI maps each to a one-line message and an exit code."""

MESSAGE_LINE_LIMIT = 1000  # the CLI cuts any message line longer than this


def excerpt(value, limit: int = 40) -> str:
    """A value as a message quotes it: its repr, cut to `limit` characters, so a 1 MB field (or a 1 MB
    column name) never reaches a message or a log."""
    text = str(value)
    return repr(text[:limit] + "…" if len(text) > limit else text)


def listing(values, limit: int = 10) -> str:
    """Up to `limit` values, each cut short, comma-separated, with a count of the rest."""
    values = list(values)
    shown = ", ".join(excerpt(value)[1:-1] for value in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


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


class OutputError(ScorecardError):
    """An output file or folder cannot be written, or is not the tool's to replace. Exit code 1.
    The message names the path and what to do."""


class Interrupted(ScorecardError):
    """The build was stopped by SIGTERM; nothing was published. Exit code 143 (128 + SIGTERM), as a
    process killed by the signal would report."""

    exit_code = 143
