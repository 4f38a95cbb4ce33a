"""Turning library exceptions into the one-line messages users see."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's text, or its type name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
