"""Shared fixtures: an isolated Prefect home and test server, and paths to the shipped data."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Prefect reads its settings at import: isolate its home before anything imports it.
os.environ["PREFECT_HOME"] = _PREFECT_HOME = tempfile.mkdtemp(prefix="policytrace-prefect-")
atexit.register(shutil.rmtree, _PREFECT_HOME, True)  # one per test process, else left behind
os.environ.pop("PREFECT_API_URL", None)
from policytrace.settings import configure_environment  # noqa: E402

configure_environment(log_level="WARNING")

TESTS = Path(__file__).parent
ROOT = TESTS.parent
SEEDS = ROOT / "seeds"
FIXTURES = TESTS / "fixtures"


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect test server (temporary database) for the whole test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def seed_release(tmp_path_factory) -> Path:
    """A release built from seeds/ without Prefect (the plain-function path), shared by tests that only read it."""
    from policytrace.pipeline import run_in_process

    output = tmp_path_factory.mktemp("seed-output")
    summary = run_in_process(SEEDS, output)
    assert summary.published, summary.failures
    return output / "latest"
