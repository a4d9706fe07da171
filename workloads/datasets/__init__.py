"""Images shipped with the package (package data)."""
