"""Per-source micro-batch rule (conventions.toml local_batch_split) and the 96 GB H100 part it needs."""

import pytest

from flopwatt import catalog
from flopwatt.errors import InputError
from flopwatt.validate import conventions as conv


def test_torchtitan_local_batch_is_split_into_pp_micro_batches():
    micro, note = conv.micro_batch("TTITAN-15", 32, 8)
    assert micro == 4 and "pp = 8" in note


def test_without_pipelining_the_local_batch_is_the_micro_batch():
    assert conv.micro_batch("TTITAN-08", 2, 1) == (2, None)


def test_sources_without_the_rule_keep_the_cell():
    assert conv.micro_batch("MBRIDGE-04", 3, 4) == (3, None)


def test_a_local_batch_the_pipeline_cannot_split_is_refused():
    with pytest.raises(InputError, match="micro_batch"):
        conv.micro_batch("TTITAN-15", 30, 8)


def test_grand_teton_h100_has_more_memory_and_less_bandwidth_than_the_80gb_part():
    new, old = catalog.get("accelerators", "h100-sxm5-96gb-hbm2e"), catalog.get("accelerators", "h100-sxm5-80gb")
    assert new.hbm_bytes > old.hbm_bytes
    assert new.hbm_bandwidth_bytes_per_s < old.hbm_bandwidth_bytes_per_s
    assert catalog.system_for("h100-sxm5-96gb-hbm2e").accelerator.id == new.id
