"""The vectorised performance core: FLOPs and bytes -> op time -> collectives -> step time and memory.

Every function takes arrays of plans and returns arrays; none does I/O or holds state.
"""
