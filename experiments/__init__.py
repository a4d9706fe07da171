"""The studies a user runs: command line, sweeps, plots and reports."""
