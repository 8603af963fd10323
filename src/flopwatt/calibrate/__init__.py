"""``flopwatt calibrate``: measure this machine's GPU and write a catalog overlay the model reads.

- :mod:`flopwatt.calibrate.request`: the options (one request model, api/fields.py conventions).
- :mod:`flopwatt.calibrate.microbench`: the GPU-only microbenchmarks (torch and NVML imported lazily),
  returning plain records (dicts with SI units in the key names).
- :mod:`flopwatt.calibrate.overlay`: pure functions from records to a catalog overlay TOML
  (``[efficiency.gemm.ID]``, ``[efficiency.memory.ID]``, ``[efficiency.low_precision.ID]``,
  ``[efficiency.all_reduce_measured.TECH]``) that ``--catalog`` / ``FLOPWATT_CATALOG`` load
  (:func:`flopwatt.catalog.use_overlay`), every table sourced as a measurement on the named device.
"""
