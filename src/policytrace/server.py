"""A local Prefect server for scheduled runs (the ephemeral server cannot run schedules)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    """Whether something already listens on (or holds) this TCP port of 127.0.0.1."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def wait_until_healthy(api_url: str, timeout: float = 120.0, process: subprocess.Popen | None = None) -> float:
    """Poll `<api>/health` until it answers true; returns the seconds it took. With `process` (the
    server's), stops at once with the reason if that process ends first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and (code := process.poll()) is not None:
            raise RuntimeError(f"the Prefect server for {api_url} exited with code {code} before it was ready")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200 and json.loads(response.read()) is True:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"Prefect server at {api_url} did not become healthy in {timeout:.0f} s")


class LocalPrefectServer:
    """`prefect server start` on loopback with SQLite, in its own process group, stopped on exit."""

    def __init__(self, port: int | None = None, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log_file = log_file
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> LocalPrefectServer:
        # A port someone else serves on would answer our health check: the run would go there.
        if port_in_use(self.port):
            raise RuntimeError(f"port {self.port} of 127.0.0.1 is in use: choose another with --port, or set "
                               f"PREFECT_API_URL=http://127.0.0.1:{self.port}/api to use the server there")
        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
               "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(self.port)}
        env.pop("PREFECT_API_URL", None)
        # SQLite in PREFECT_HOME, Prefect's default: not a database configured for another server.
        for name in ("PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL"):
            env.pop(name, None)
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(self.port), "--analytics-off"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_healthy(self.api_url, process=self._process)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
