"""Checks every serving hold-out file shares (data only, no prediction: validation/SPLIT_infer.md): its ids are
unique, new and carry its own source prefixes; no row repeats a measurement of another data file; and the files
written in the shared schema as an outside party would (the sixth onward) have no conventions entry and only
DATASET.md's serving frameworks. Each file's own tests (tests/test_infer_heldout*_data.py) check the rest."""

from __future__ import annotations

import pytest

import heldout_data
from flopwatt.validate import conventions as conv
from heldout_data import ROOT

HOLDOUTS = {  # file -> its source prefixes (validation/DATASET_infer.md, one section per hold-out), in order
    "infer_heldout3.csv": {"MLPR50", "MLPR51", "MLPB51", "MLPR60"},
    "infer_heldout4.csv": {"MLPQ41", "MLPQ51", "MLPQ60"},
    "infer_heldout5.csv": {"DCH200", "DSTKR1"},
    "infer_heldout6.csv": {"MLCT50", "MLCT51", "MLCT60", "GPSTK"},
    "infer_heldout7.csv": {"INFX", "DSTK405", "DSTKTV"},
    "infer_heldout8.csv": {"MLMOE51", "MLMOE60", "TRTPO"},
    "infer_heldout9.csv": {"TRT12", "TRTBP", "TRT20", "TRT14"},
    "infer_heldout10.csv": {"OEH10G", "OEH10T", "OEH10A", "OEH10S"},
    "infer_heldout11.csv": {"MOE11A", "MOE11B", "MOE11H", "MOE11D", "MOE11Q", "MOE11W", "MOE11G"},
    "infer_heldout12.csv": {"OE12C", "OE12D", "OE12H", "OE12U"},
    "infer_heldout13.csv": {"OE13A", "OE13L", "OE13M"},
    "infer_heldout14.csv": {"OE14G", "OE14C", "OE14L"},
    "infer_heldout15.csv": {"AM15C", "AM15M", "AM15S", "AM15G", "AM15H", "AM15O", "AM15D"},
    "infer_heldout16.csv": {"OE16C", "OE16G", "OE16L"},
    "infer_heldout17.csv": {"MP61A", "MP61M", "MP61D", "MP61S", "MP61C", "MP61R", "MP61H", "MP61O"},
}
SHARED_SCHEMA = {"infer_heldout6.csv", "infer_heldout7.csv", "infer_heldout8.csv", "infer_heldout9.csv",
                 "infer_heldout10.csv", "infer_heldout11.csv", "infer_heldout12.csv",
                 "infer_heldout13.csv", "infer_heldout14.csv", "infer_heldout15.csv",
                 "infer_heldout16.csv", "infer_heldout17.csv"}
"""Written as DATASET.md writes rows: unknown prefixes, frameworks from its list only."""
FIRST = ["visible.csv", "mlperf_inference_v5.csv", "infer_heldout.csv", "infer_heldout2.csv"]


def _earlier(name: str) -> set[str]:
    order = FIRST + list(HOLDOUTS)
    return set(order[:order.index(name)])


@pytest.mark.parametrize("name", sorted(HOLDOUTS))
def test_ids_are_unique_new_and_carry_the_new_prefixes(name):
    heldout_data.check_new_ids(ROOT / "validation" / name, HOLDOUTS[name], _earlier(name))


@pytest.mark.parametrize("name", sorted(HOLDOUTS))
def test_no_measurement_repeats_one_already_collected(name):
    heldout_data.check_no_repeated_measurement(ROOT / "validation" / name)


@pytest.mark.parametrize("name", sorted(SHARED_SCHEMA))
def test_shared_schema_rows_have_no_conventions_and_only_dataset_md_frameworks(name):
    """The rows must stand on their typed columns alone: neither a prefix nor a row id is in conventions.toml."""
    prefixes = HOLDOUTS[name]
    for r in heldout_data.rows(ROOT / "validation" / name):
        assert not conv.known(r["id"]) and r["framework"] in heldout_data.SHARED_FRAMEWORKS, r["id"]
    for key in conv.conventions():
        assert key not in prefixes and conv.prefix(key) not in prefixes, key
