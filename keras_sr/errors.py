"""Exceptions that the CLI turns into one-line messages.

Every error a user can cause (bad path, bad image, bad option) is raised as a
:class:`KerasSRError` with a message that names the problem. The CLI prints
``Error: <message>`` and exits with :attr:`KerasSRError.exit_code` (1 for
runtime problems, 2 for usage problems); no traceback is shown.
"""


class KerasSRError(Exception):
    """A problem caused by the user's input or environment (exit code 1)."""

    exit_code = 1


class UsageError(KerasSRError):
    """An invalid combination of arguments (exit code 2)."""

    exit_code = 2


class ImageReadError(KerasSRError):
    """A file that is missing, empty, corrupt or not an image."""


class ModelLoadError(KerasSRError):
    """A model file or name that cannot be turned into a model."""
