"""Errors that reach the user as one sentence and exit code 2."""


class BmruError(Exception):
    """Bad input or a broken tool: the message is one sentence saying what and where."""


class ToolMissingError(BmruError):
    """An external program (klayout, ngspice) or a PDK asset cannot be found or fetched."""
