"""Network definitions built from the engine's float graph (:mod:`workloads.graph`)."""

__all__: list[str] = []
