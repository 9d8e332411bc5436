"""Scheduled runs: `policytrace serve` starts a local Prefect server and runs the deployment it serves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import polars as pl

from policytrace.server import free_port, wait_until_healthy
from tests.test_remote import ARTICLES, server  # noqa: F401 - the loopback HTTP server fixture


def api(url: str, body: dict | None = None, attempts: int = 10):
    """Call the Prefect API; a SQLite-backed server answers 503 while busy writing, so retry that."""
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"},
                                     method="POST" if body is not None else "GET")
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503 or attempt == attempts - 1:
                raise
            time.sleep(1)


def test_served_deployment_fetches_its_feeds_when_triggered_through_the_api(server, tmp_path: Path):  # noqa: F811
    # Feeds on a schedule, named by a URL list relative to the folder serve was started in.
    (tmp_path / "feeds.urls").write_text(f"{server.url('/feeds/rss.xml')}\n{server.url('/feeds/atom.xml')}\n",
                                         encoding="utf-8")
    output, home = tmp_path / "out", tmp_path / "prefect-home"
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(home)
    serve = subprocess.Popen(
        [sys.executable, "-m", "policytrace.cli", "serve", "--input", "urls:feeds.urls", "--output", "out",
         "--port", str(port), "--cron", "0 6 * * *", "--name", "test"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_healthy(api_url, timeout=120, process=serve)  # a serve that fails stops the wait
        deployment = None
        for _ in range(120):
            deployments = api(f"{api_url}/deployments/filter", {})
            if deployments:
                deployment = deployments[0]
                break
            time.sleep(0.5)
        assert deployment is not None, "the deployment was never registered"
        assert deployment["name"] == "test"
        assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 6 * * *"]
        assert deployment["parameters"]["input_dir"] == f"urls:{tmp_path / 'feeds.urls'}"
        assert deployment["parameters"]["output_dir"] == str(output)
        run = api(f"{api_url}/deployments/{deployment['id']}/create_flow_run", {})
        state = None
        for _ in range(240):
            state = api(f"{api_url}/flow_runs/{run['id']}")["state"]["type"]
            if state in ("COMPLETED", "FAILED", "CRASHED"):
                break
            time.sleep(0.5)
        assert state == "COMPLETED"
        documents = pl.read_parquet(output / "latest" / "sources.parquet").filter(
            pl.col("source_type") == "document")
        assert sorted(documents["url"]) == sorted(server.url(f"/articles/{name}.html") for name in ARTICLES)
        report = json.loads((output / "latest" / "ingest_report.json").read_text(encoding="utf-8"))
        assert report["input"] == f"urls:{tmp_path / 'feeds.urls'}"
    finally:
        os.killpg(serve.pid, signal.SIGINT)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
    # The local server went down with the serve command.
    try:
        urllib.request.urlopen(f"{api_url}/health", timeout=2)
        raise AssertionError("the Prefect server is still running after serve stopped")
    except OSError:
        pass


def test_prefect_yaml_names_the_flow_and_parameters_it_takes():
    import yaml
    from prefect.flows import load_flow_from_entrypoint
    from prefect.schedules import Cron

    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert config["deployments"], "prefect.yaml declares no deployment"
    for deployment in config["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
        assert flow.name == "build-dataset"
        # The flow accepts the parameters as they are written (pydantic validation, as Prefect runs it).
        validated = flow.validate_parameters(deployment["parameters"])
        assert {name: validated[name] for name in deployment["parameters"]} == deployment["parameters"]
        for schedule in deployment["schedules"]:
            Cron(schedule["cron"], timezone=schedule["timezone"])
        assert deployment["work_pool"]["name"] == "policytrace"  # as the README's commands create it


def test_the_local_server_refuses_a_port_that_is_taken_and_reports_a_server_that_dies():
    import socket

    import pytest

    from policytrace.server import LocalPrefectServer

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port {port} of 127.0.0.1 is in use"):
            LocalPrefectServer(port=port).__enter__()

    died = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="exited with code 3 before it was ready"):
        wait_until_healthy(f"http://127.0.0.1:{free_port()}/api", timeout=60, process=died)
    assert time.monotonic() - started < 30, "a dead server is noticed without waiting for the timeout"
