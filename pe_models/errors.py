"""The one exception type for bad user input, shared by every package."""

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A configuration, file or argument is invalid.

    The message is one line that names the field and the allowed values. The command
    line prints it and exits with status 2.
    """
