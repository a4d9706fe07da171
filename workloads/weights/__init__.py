"""Float weights of the bundled models (package data)."""
