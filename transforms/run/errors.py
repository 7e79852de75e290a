"""Errors that mean a command cannot run at all: the CLI prints their one line and exits 2."""


class Refused(RuntimeError):
    """A run refused by a rule of the books before changing anything (exit 2)."""
