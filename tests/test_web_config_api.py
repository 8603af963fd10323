"""/v1/fleet and /v1/capacity agree with the CLI on the same config; their bounds and file rules hold."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="web extra (fastapi) not installed")

from fastapi.testclient import TestClient  # noqa: E402

from flopwatt.api.requests import FLEET_MAX_JOBS, FleetPolicy, FleetRequest  # noqa: E402
from flopwatt.server.app import create_app  # noqa: E402
from test_cli_errors import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FLEET_TOML = (ROOT / "examples" / "fleet-3site.toml").read_text()


def _finite(value):
    """The CLI's JSON as the web sends it: non-finite numbers as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


@pytest.fixture(scope="module")
def client():
    app = create_app(timeout_s=120)
    yield TestClient(app)
    app.state.pool.close()


def test_fleet_answer_is_the_clis(client):
    proc = run("fleet", str(ROOT / "examples" / "fleet-3site.toml"), "--policy", "compare", "--max-jobs", "40",
               "--json")
    assert proc.returncode == 0, proc.stderr
    cli = json.loads(proc.stdout)
    web = client.post("/v1/fleet", json={"example": "3site", "max_jobs": 40}).json()
    for name, summary in cli["runs"].items():
        summary.pop("simulate_s")  # a wall-clock timing: the web's answer is a pure function of the request
        assert web["runs"][name] == _finite(summary), name
    assert web["jobs"] == cli["jobs"] == 40 and web["seed"] == cli["seed"]
    assert list(web["pools"]) == cli["pools"] and web["sites"] == cli["sites"]


def test_capacity_answer_is_the_clis(client):
    proc = run("capacity", str(ROOT / "examples" / "capacity-russia.toml"), "--json")
    assert proc.returncode == 0, proc.stderr
    cli = json.loads(proc.stdout)
    web = client.post("/v1/capacity", json={"example": "russia"}).json()
    assert web.pop("assumptions") == ["config: examples/capacity-russia.toml", *cli.pop("assumptions")]
    assert set(web.pop("catalog")) >= {"sites", "accelerators", "models"}
    assert web == _finite(cli)


def test_policies_are_the_fleets_built_in_ones():
    from typing import get_args

    from flopwatt.fleet.policies import POLICIES

    assert list(get_args(FleetPolicy)) == list(POLICIES)
    assert FleetRequest.model_fields["max_jobs"].metadata[-1].le == FLEET_MAX_JOBS


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"example": "3site", "policies": ["os:system"]}, 422, "policies"),
    ({"example": "3site", "max_jobs": FLEET_MAX_JOBS + 1}, 422, "max_jobs"),
    ({"example": "3site", "config_toml": FLEET_TOML}, 422, "exactly one of example or config_toml"),
    ({"example": "../capacity-russia"}, 422, "example"),
    ({"config_toml": "x" * 70_000}, 422, "config_toml"),
    ({"config_toml": FLEET_TOML.replace("../data/traces/philly_jobs.csv.gz", "/etc/hostname")}, 400,
     "[trace].path: expected one of the bundled traces"),
    ({"config_toml": FLEET_TOML.replace("../data/traces/AzureLLMInferenceTrace_code.csv.gz", "../README.md")}, 400,
     "[services.code-us].trace: expected one of the bundled traces"),
    ({"config_toml": FLEET_TOML.replace('path = "../data/traces/philly_jobs.csv.gz"',
                                        "synthetic_jobs = 50000000\nmean_interarrival_s = 60")}, 400,
     "[trace].synthetic_jobs: expected at most 1,000,000"),
    ({"config_toml": "[fleet]\n" + "[[jobs]]\nclass = 'a'\n" * 3, "max_jobs": 2}, 400, "[sites]"),
    ({"config_toml": "[fleet\n"}, 400, "config_toml: expected valid TOML"),
])
def test_fleet_bad_requests_name_their_field(client, body, status, needle):
    answer = client.post("/v1/fleet", json=body)
    assert answer.status_code == status
    assert needle in json.dumps(answer.json()["detail"]) if status == 422 else answer.json()["detail"].startswith(
        needle)


def test_fleet_refuses_more_jobs_than_max_jobs(client):
    jobs = "".join(f"[[jobs]]\nclass = 'gpt3-125m'\narrival_s = {i}\ndevices = 8\ntokens = 1e9\n" for i in range(3))
    text = FLEET_TOML.split("[trace]")[0] + jobs
    answer = client.post("/v1/fleet", json={"config_toml": text, "max_jobs": 2, "policies": ["fifo"]})
    assert answer.status_code == 400 and answer.json()["detail"].startswith("[[jobs]]: expected at most max_jobs (2)")
    ok = client.post("/v1/fleet", json={"config_toml": text, "max_jobs": 3, "policies": ["fifo"]}).json()
    assert ok["jobs"] == 3 and ok["runs"]["fifo"]["training"]["completed"] == 3


def test_examples_are_listed_with_their_text(client):
    fleet = client.get("/v1/examples/fleet").json()
    assert [e["name"] for e in fleet] == ["3site"] and fleet[0]["toml"] == FLEET_TOML
    names = [e["name"] for e in client.get("/v1/examples/capacity").json()]
    assert names == sorted(p.stem.removeprefix("capacity-") for p in (ROOT / "examples").glob("capacity-*.toml"))
    assert client.get("/v1/examples/nothing").status_code == 400
