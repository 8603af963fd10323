"""flopwatt: planner and simulator for AI infrastructure.

The library first: :func:`flopwatt.perf.training.evaluate_training` evaluates N plans at once;
:func:`flopwatt.estimate.estimate_training` chooses the open knobs; the CLI only calls these.
"""

__version__ = "0.1.0"
