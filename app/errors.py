"""The one exception type for mistakes a user can fix.

A `UserError` carries a message that says what went wrong and what to do; the CLI prints it
without a traceback and exits with code 2. Internal invariants use `assert` instead.
"""


class UserError(ValueError):
    """A problem with the user's input or machine, with an actionable message."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, else its type's name: a short reason
    to put into a one-line error."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__
