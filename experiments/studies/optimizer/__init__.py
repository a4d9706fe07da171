"""The parts of the protection and voltage optimizer (the study is :mod:`experiments.studies.optimize`).

:mod:`.config` (what it searches, the budgets), :mod:`.profiling` (the screen: each layer's
operand statistics and cycles), :mod:`.solving` (the sensitivity table and the solvers) and
:mod:`.confirmation` (plans measured with bit-level injection).
"""
