"""One module per `vscale` sub-command; each defines ``register(subparsers)``."""
