"""Issue 18 catalog additions: new accelerators and systems run end to end, markets and facility costs load
with exact keys and sources, and their lookups answer as their sources say."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flopwatt import catalog
from flopwatt.catalog import facility_costs as fc
from flopwatt.catalog import markets as mk
from flopwatt.errors import InputError
from flopwatt.specs.market import STATUSES

NEW_ACCELERATORS = ("h20", "b300-sxm-288gb", "gb300", "mi355x", "rubin", "ascend-910b", "ascend-910c",
                    "cambricon-mlu370-x8", "mtt-s4000")
NEW_SYSTEMS = ("hgx-h20", "dgx-b300", "gb300-nvl72", "mi355x-platform", "vera-rubin-nvl144", "cloudmatrix-384",
               "atlas-800t-a2", "cambricon-mlu370-x8-server", "mccx-d800")
RETRIEVED = "2026-12-06"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flopwatt", *args], capture_output=True, text=True, timeout=300)


def _ends_cleanly(proc: subprocess.CompletedProcess) -> None:
    """Exit 0, or exit 2 with exactly one stderr line and nothing on stdout; never a traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    if proc.returncode == 0:
        assert proc.stdout.strip()
        return
    assert proc.returncode == 2, proc
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr




@pytest.mark.parametrize("acc_id", NEW_ACCELERATORS)
def test_new_accelerator_sourced_with_system_and_efficiency(acc_id):
    acc = catalog.accelerators()[acc_id]
    assert acc.source.strip() and acc.retrieved == RETRIEVED
    system = catalog.system_for(acc_id)
    assert system.id in NEW_SYSTEMS and system.retrieved == RETRIEVED and system.source.strip()
    eff = catalog.efficiency()
    assert 0 < eff.memory_for(acc_id) <= 1
    assert 0 <= eff.overlap_for(acc_id) < 1
    assert eff.gemm_for(acc_id) is not None
    for link in (system.scale_up, system.scale_out):
        assert eff.collective_for(link.technology) is not None


def test_new_systems_all_present_and_point_at_new_accelerators():
    systems = catalog.systems()
    assert {systems[s].accelerator.id for s in NEW_SYSTEMS} == set(NEW_ACCELERATORS)


def test_announced_and_unpublished_parts_say_so():
    accs = catalog.accelerators()
    assert "ANNOUNCED" in accs["rubin"].name and "ANNOUNCED" in catalog.systems()["vera-rubin-nvl144"].name
    assert accs["ascend-910b"].peak_flops_per_s == {}  # no published dense peak: left out, not guessed
    with pytest.raises(InputError, match="published dense peak"):
        accs["ascend-910b"].peak("bf16")


@pytest.mark.parametrize("acc_id", NEW_ACCELERATORS)
def test_train_on_new_accelerator_ends_cleanly(acc_id):
    _ends_cleanly(_run("train", "--accelerator", acc_id, "--model", "llama3-8b", "--devices", "64"))


@pytest.mark.parametrize("acc_id", NEW_ACCELERATORS)
def test_serve_on_new_accelerator_ends_cleanly(acc_id):
    _ends_cleanly(_run("serve", "--accelerator", acc_id, "--model", "llama3-8b", "--input-len", "1000",
                       "--output-len", "200", "--devices", "8"))


# ---- markets ----------------------------------------------------------------------------------------------

@pytest.fixture
def patched_markets(monkeypatch):
    """Feed the markets loader an edited copy of markets.toml."""
    original = catalog.read_toml("markets.toml", "catalog markets.toml")

    def install(edit):
        data = {table: {k: dict(v) for k, v in entries.items()} for table, entries in original.items()}
        edit(data)
        monkeypatch.setattr(mk, "read_toml", lambda *_: data)
        mk._tables.cache_clear()

    yield install
    mk._tables.cache_clear()


def test_markets_and_rules_are_sourced():
    assert {"us", "eu", "cn", "ru", "in", "me"} <= set(mk.markets())
    for entry in (*mk.markets().values(), *mk.market_rules().values()):
        assert entry.source.strip() and entry.retrieved == RETRIEVED


@pytest.mark.parametrize(("market", "acc_id", "expected", "status"), [
    ("cn", "h100-sxm5-80gb", False, "licence"),
    ("cn", "ascend-910c", True, "allowed"),
    ("us", "h100-sxm5-80gb", True, "allowed"),
    ("us", "ascend-910c", False, "licence"),
    ("cn", "h20", False, "licence"),
    ("me", "h20", True, "allowed"),
    ("me", "gb300", False, "licence"),
    ("ru", "h100-sxm5-80gb", False, "prohibited"),
    ("eu", "tpu-v5p", False, "not-offered"),
    ("in", "rubin", False, "not-offered"),
    ("ru", "mtt-s4000", False, "unknown"),
])
def test_allowed_examples(market, acc_id, expected, status):
    ok, text = mk.allowed(market, acc_id)
    assert ok is expected
    assert mk.status(market, acc_id) == status
    assert text.startswith(f"{acc_id} in {market}: {status}") and "\n" not in text


def test_every_pair_resolves_to_one_status():
    for market in mk.markets():
        for acc_id in catalog.accelerators():
            ok, _ = mk.allowed(market, acc_id)
            assert mk.status(market, acc_id) in STATUSES
            assert ok == (mk.status(market, acc_id) == "allowed")


def test_allowed_rejects_unknown_ids():
    with pytest.raises(InputError, match="unknown id 'mars'"):
        mk.allowed("mars", "h100-sxm5-80gb")
    with pytest.raises(InputError, match="unknown id 'h100'"):
        mk.allowed("cn", "h100")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["rule"]["cn-h20-licence"].update(sources="typo"), "cn-h20-licence.sources"),
    (lambda d: d["rule"]["cn-h20-licence"].pop("source"), "cn-h20-licence.source"),
    (lambda d: d["market"]["cn"].update(default_status="maybe"), "default_status"),
    (lambda d: d["rule"]["cn-h20-licence"].update(accelerators=["h20", "h2O"]), "unknown id 'h2O'"),
    (lambda d: d["rule"]["cn-h20-licence"].update(accelerators=["h20", "h100-sxm5-80gb"]), "no pair already ruled"),
    (lambda d: d["rule"]["cn-h20-licence"].update(effective="April 2025"), "ISO date"),
    (lambda d: d.update(extra={}), "market or rule tables"),
])
def test_markets_loader_checks_keys_and_pairs(patched_markets, edit, message):
    patched_markets(edit)
    with pytest.raises(InputError, match=message):
        mk.markets()


# ---- facility costs ---------------------------------------------------------------------------------------

@pytest.fixture
def patched_facility(monkeypatch):
    original = catalog.read_toml("facility_costs.toml", "catalog facility_costs.toml")

    def install(edit):
        data = {k: ({n: dict(e) for n, e in v.items()} if k != "air_rack_limit" else dict(v))
                for k, v in original.items()}
        edit(data)
        monkeypatch.setattr(fc, "read_toml", lambda *_: data)
        fc.facility_costs.cache_clear()

    yield install
    fc.facility_costs.cache_clear()


def test_facility_entries_are_sourced():
    costs = fc.facility_costs()
    entries = (*costs.regions.values(), *costs.cooling.values(), *costs.racks.values(), costs.air_rack_limit)
    for entry in entries:
        assert entry.source.strip() and entry.retrieved == RETRIEVED
    assert set(costs.cooling) == set(catalog.cooling())  # every cooling type has a (possibly unknown) cost entry


def test_capex_is_region_times_cooling_factor():
    value, how = fc.capex_usd_per_w("us-average", "direct-liquid")
    costs = fc.facility_costs()
    assert value == pytest.approx(costs.regions["us-average"].usd_per_w * costs.cooling["direct-liquid"].capex_factor)
    assert value > fc.capex_usd_per_w("us-average", "air")[0]
    assert "x" in how and "\n" not in how
    unknown, why = fc.capex_usd_per_w("eu-frankfurt", "rear-door")
    assert unknown is None and "unknown" in why


def test_nvl72_racks_exceed_the_air_limit_and_hgx_nodes_do_not():
    above = fc.systems_above_air_limit()
    assert {"gb200-nvl72", "gb300-nvl72"} <= set(above)
    assert "dgx-h100" not in above and "dgx-b300" not in above
    limit = fc.facility_costs().air_rack_limit.rack_power_max_w
    assert all(power > limit for power, _ in above.values())
    power, basis = fc.rack_power_w("dgx-h100")
    assert power == catalog.systems()["dgx-h100"].node_power_max_w and "lower bound" in basis
    assert set(above) <= set(fc.systems_above_air_limit(practical=True))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["region"]["cn"].update(usd_per_watt=8.0), "cn.usd_per_watt"),
    (lambda d: d["region"]["cn"].pop("year"), "cn.year"),
    (lambda d: d["region"]["cn"].update(usd_per_w_low=8.5), "usd_per_w_low <= usd_per_w"),
    (lambda d: d["cooling"].update(swamp={"capex_factor": 1.0, "source": "x", "retrieved": RETRIEVED}),
     "unknown id 'swamp'"),
    (lambda d: d["rack"].update({"dgx-h1000": {"rack_power_w": 1e4, "source": "x", "retrieved": RETRIEVED}}),
     "unknown id 'dgx-h1000'"),
    (lambda d: d.pop("air_rack_limit"), "air_rack_limit"),
    (lambda d: d["air_rack_limit"].update(rack_power_practical_w=50e3), "rack_power_practical_w"),
])
def test_facility_loader_checks_keys(patched_facility, edit, message):
    patched_facility(edit)
    with pytest.raises(InputError, match=message):
        fc.facility_costs()


# ---- network parts ----------------------------------------------------------------------------------------

def test_new_network_parts_load_with_sources():
    parts = catalog.network_parts()
    for kind, ids in {"switch": ("nvswitch-gen3", "nvlink5-switch-tray", "eth-cpo-sn6810",
                                 "ib-xdr-quantum-x-photonics", "eth-sn5400-400g"),
                      "nic": ("cx9-1600g", "pollara-400g")}.items():
        for part_id in ids:
            assert parts[kind][part_id].source.strip()
    assert parts["medium"]["aec-800g"].mtbf_h > 0


# ---- issue 18 acceptance: perf/W and perf/$ side by side ----------------------------------------------------

SIX = ("h100-sxm5-80gb", "b200-sxm-180gb", "mi355x", "ascend-910c", "groq-lpu-v1", "tpu-v6e")
SIX_DEVICES = (8, 8, 8, 8, 576, 8)  # 576 LPUs hold Llama 3.1 70B in SRAM (230 MB each); 8 of any other part do


def test_serve_compare_prints_joules_and_dollars_for_the_six_parts():
    """`flopwatt serve compare --model llama3.1-70b --accelerator <the six>`: J/token at the boards (IT) and
    at the facility and $/Mtoken for every one; each J/token is the fleet's IT power over its tokens/s."""
    proc = _run("serve", "compare", "--model", "llama3.1-70b", "--accelerator", ",".join(SIX),
                "--devices", ",".join(map(str, SIX_DEVICES)), "--input-len", "1024", "--output-len", "256")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line.split() and line.split()[0] in SIX}
    assert set(rows) == set(SIX)
    for line in rows.values():
        assert "unknown" not in line and "infeasible" not in line, line
    assert "unknown cells" not in proc.stdout

    payload = json.loads(_run("serve", "compare", "--json", "--model", "llama3.1-70b", "--accelerator",
                              ",".join(SIX), "--devices", ",".join(map(str, SIX_DEVICES)), "--input-len", "1024",
                              "--output-len", "256").stdout)
    accs, systems = catalog.accelerators(), catalog.systems()
    for result, acc_id, n in zip(payload, SIX, SIX_DEVICES, strict=True):
        m = result["metrics"]
        assert result["feasible"] and not result["unknown"], (acc_id, result["unknown"])
        system = systems[result["inputs"]["system"]]
        host_w = 0.0 if system.node_power_max_w is None else max(
            system.node_power_max_w - system.devices_per_node * accs[acc_id].board_power_w, 0.0)
        nodes = -(-n // system.devices_per_node)
        it_w = n * accs[acc_id].board_power_w + nodes * host_w
        assert m["it_joules_per_output_token"] == pytest.approx(it_w / m["output_tokens_per_s"], rel=1e-9)
        assert m["joules_per_output_token"] == pytest.approx(m["it_joules_per_output_token"] * m["pue"])
        assert m["usd_per_million_output_tokens"] > m["energy_usd_per_million_output_tokens"] > 0
        ruled = accs[acc_id].board_power_rule is not None
        assert ruled == any(a.startswith(f"board power of {acc_id}:") for a in result["assumptions"])
        unpriced_nodes = system.node_price_usd is None
        assert unpriced_nodes == any(a.startswith("capex:") and "devices only" in a for a in result["assumptions"])


def test_derived_board_powers_state_their_rule_and_reproduce_it():
    """A board power that is not a vendor board rating carries its rule (printed in results) and is an estimate;
    the catalog figures are the stated arithmetic of their sourced inputs (notes of each entry)."""
    accs = catalog.accelerators()
    ruled = {k for k, a in accs.items() if a.board_power_rule}
    assert {"ascend-910c", "tpu-v6e", "tpu-v5e"} <= ruled
    for acc_id in ruled:
        assert accs[acc_id].board_power_w is not None and "ESTIMATE" in accs[acc_id].board_power_rule
    assert accs["ascend-910c"].board_power_w == pytest.approx(559e3 / 384, rel=1e-3)  # SemiAnalysis all-in / NPUs
    cm384 = catalog.systems()["cloudmatrix-384"]
    assert cm384.node_power_max_w == cm384.devices_per_node * accs["ascend-910c"].board_power_w  # hosts inside
    trillium_flops_per_w = 5.4e12 / 2  # BofA's Ironwood FP8 efficiency over Google's 2x
    assert accs["tpu-v6e"].board_power_w == pytest.approx(accs["tpu-v6e"].peak("fp8") / trillium_flops_per_w,
                                                          rel=5e-3)
    assert accs["tpu-v5e"].board_power_w == pytest.approx(accs["tpu-v5e"].peak("bf16") / (trillium_flops_per_w / 1.67),
                                                          rel=5e-3)


def test_a_board_power_rule_needs_a_board_power():
    from flopwatt.specs.hardware import Accelerator

    with pytest.raises(InputError, match="board_power_rule"):
        Accelerator(id="x", name="x", vendor="x", peak_flops_per_s={"bf16": 1e12}, hbm_bytes=1e9,
                    hbm_bandwidth_bytes_per_s=1e9, board_power_rule="half a rack", source="s", retrieved="r")


def test_mi350x_is_the_mi355x_silicon_at_its_lower_clock_and_power():
    """The MI350X entry's peaks are DERIVED: the MI355X's AMD figures times the clock ratio 2.2 / 2.4 GHz (Hot Chips
    2025); the same memory and xGMI, 1,000 W instead of 1,400 W; and it has its own platform and efficiency entries."""
    mi350x, mi355x = catalog.get("accelerators", "mi350x"), catalog.get("accelerators", "mi355x")
    for precision, peak in mi355x.peak_flops_per_s.items():
        assert mi350x.peak_flops_per_s[precision] == pytest.approx(peak * 2.2 / 2.4, rel=1e-3), precision
    assert (mi350x.hbm_bytes, mi350x.hbm_bandwidth_bytes_per_s) == (mi355x.hbm_bytes, mi355x.hbm_bandwidth_bytes_per_s)
    assert mi350x.board_power_w == 1000 < mi355x.board_power_w
    assert catalog.system_for("mi350x").accelerator.id == "mi350x"
    eff = catalog.efficiency()
    assert eff.memory_for("mi350x") == eff.memory_for("mi355x")
