"""Scheduled runs: `policytrace serve` starts a local Prefect server and runs the deployment it serves."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import polars as pl

from policytrace.server import free_port, wait_until_healthy
from tests.conftest import SEEDS


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


def test_served_deployment_runs_when_triggered_through_the_api(tmp_path: Path):
    inputs, output, home = tmp_path / "in", tmp_path / "out", tmp_path / "prefect-home"
    shutil.copytree(SEEDS, inputs)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(home)
    serve = subprocess.Popen(
        [sys.executable, "-m", "policytrace.cli", "serve", "--input", str(inputs), "--output", str(output),
         "--port", str(port), "--cron", "0 6 * * *", "--name", "test"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_healthy(api_url, timeout=120)
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
        run = api(f"{api_url}/deployments/{deployment['id']}/create_flow_run", {})
        state = None
        for _ in range(240):
            state = api(f"{api_url}/flow_runs/{run['id']}")["state"]["type"]
            if state in ("COMPLETED", "FAILED", "CRASHED"):
                break
            time.sleep(0.5)
        assert state == "COMPLETED"
        sources = pl.read_parquet(output / "latest" / "sources.parquet")
        assert sources.filter(pl.col("source_type") == "document").height == 1
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
