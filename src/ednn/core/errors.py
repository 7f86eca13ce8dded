"""Errors that ednn reports to users as one line."""


class EDNNError(ValueError):
    """A problem with the user's input, files or settings; its message is one line."""
