"""Float weights of the bundled models (package data)."""

__all__: list[str] = []
