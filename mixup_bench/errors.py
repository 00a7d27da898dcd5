"""The one exception type that the CLI turns into a single line and exit code 2."""


class UserError(Exception):
    """A problem the user can fix: bad input, missing data, a clash in the results folder.

    The message is one line that says what is wrong and what to do about it.
    """
