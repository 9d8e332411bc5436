"""Benchmark extraction, the whole flow, a no-op re-run and a spaCy reference; one JSON line per measure."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import GENERATOR_VERSION, generate, read_manifest
from procstat import TreeSampler

BENCHMARKS_DIR = Path(__file__).resolve().parent
PHASES_SCRIPT = BENCHMARKS_DIR / "phases.py"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "policytrace-benchmark"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(measure: dict) -> None:
    print(json.dumps(measure), flush=True)


def machine() -> dict:
    """Cores, CPU model, memory, Python and the versions of the packages that do the work."""
    from importlib.metadata import version

    cpuinfo = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text().splitlines() if ":" in line)
    cpuinfo = {key.strip(): value.strip() for key, value in cpuinfo.items()}
    cpu_model = cpuinfo.get("model name", "unknown")
    memory_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                     if line.startswith("MemTotal:"))
    packages = ["policytrace", "prefect", "great_expectations", "polars", "pyarrow", "spacy",
                "dateparser", "py3langid"]
    return {"measure": "machine", "nproc": os.cpu_count(), "cpu_model": cpu_model,
            # family/model tell CPU generations apart where the model name does not ("AMD EPYC")
            "cpu_family_model": f"{cpuinfo.get('cpu family', '?')}/{cpuinfo.get('model', '?')}",
            "cpu_mhz": cpuinfo.get("cpu MHz"), "cache": cpuinfo.get("cache size"),
            "calibration_cpu_seconds": calibration(),
            "memory_gb": round(memory_kb / 1024 ** 2, 1), "python": sys.version.split()[0],
            "versions": {name: version(name) for name in packages}}


def calibration() -> float:
    """CPU seconds of a fixed pure-Python workload (the best of three): virtual machines of the same
    "model name" differed ~2x in speed, so every run says how fast its machine was."""
    def work() -> float:
        started = time.process_time()
        counts: dict[str, int] = {}
        for i in range(1_000_000):
            word = f"w{i % 5000}"
            counts[word] = counts.get(word, 0) + len(word.upper())
        return time.process_time() - started

    return round(min(work() for _ in range(3)), 3)


def corpus_for(docs: int, seed: int, work: Path) -> tuple[Path, dict]:
    """The corpus of `docs` documents in the work folder, generated unless an identical one is there."""
    corpus = work / f"corpus-{docs}-seed{seed}"
    manifest = read_manifest(corpus)
    wanted = {"generator_version": GENERATOR_VERSION, "docs": docs, "seed": seed}
    if manifest and all(manifest.get(key) == value for key, value in wanted.items()):
        log(f"reusing corpus {corpus}")
        return corpus, {**manifest, "reused": True}
    log(f"generating {docs} documents into {corpus}")
    return corpus, {**generate(docs, corpus, seed), "reused": False}


def parts_written(output: Path) -> int:
    """Batches whose table fragments are on disk in an unfinished run's work folder."""
    return sum(1 for _ in output.glob(".work-*/sources/part-*.parquet"))


def run_phase(phase: str, arguments: list[str], environment: dict[str, str], rss_log: Path,
              timeout: float | None = None) -> tuple[list[dict] | None, dict]:
    """Run one phase in its own process group while sampling the process tree's memory.

    Returns the phase's measures (None if it failed or ran out of time) and what the sampler saw.
    """
    command = [sys.executable, str(PHASES_SCRIPT), phase, *arguments]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment,
                               start_new_session=True)
    sampler = TreeSampler(process.pid, rss_log).start()
    timed_out = False
    try:
        stdout, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        log(f"{phase}: still running after {timeout:.0f} s, stopping it")
        os.killpg(process.pid, signal.SIGTERM)
        try:
            stdout, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, _ = process.communicate()
    finally:
        sampler.stop()
    observed = {"wall_seconds": round(time.perf_counter() - started, 2),
                "sampled_peak_tree_rss_mb": round(sampler.peak_tree_rss_mb, 1),
                "sampled_peak_tree_pss_mb": round(sampler.peak_tree_pss_mb, 1),
                # Where the CPU went: the phase's process, its batch workers, the Prefect server.
                "sampled_cpu_seconds": sampler.cpu_seconds_by_role(),
                # Per process, the largest of each role: workers forked by the fork server are
                # not the phase's children, so its own peak of children's RSS misses them.
                "sampled_peak_rss_mb_by_role": sampler.peak_rss_mb_by_role(),
                "rss_log": str(rss_log)}
    if timed_out or process.returncode != 0:
        observed |= {"completed": False, "timed_out": timed_out, "returncode": process.returncode}
        return None, observed
    result_lines = [line for line in stdout.splitlines() if line.startswith("[")]
    return json.loads(result_lines[-1]), observed


def time_cli_rerun(corpus: Path, output: Path, environment: dict[str, str]) -> dict:
    """Wall time of `policytrace run` on unchanged input, as a user sees it (process start included)."""
    command = [str(Path(sys.executable).with_name("policytrace")), "run", "--input", str(corpus),
               "--output", str(output), "--no-progress"]
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, env=environment)
    seconds = time.perf_counter() - started
    last_line = (finished.stdout.strip().splitlines() or [""])[-1]
    return {"measure": "noop_rerun_cli", "seconds": round(seconds, 3), "returncode": finished.returncode,
            "up_to_date": "up to date" in finished.stdout, "last_line": last_line}


def phase_environment(work: Path) -> dict[str, str]:
    """Prefect keeps its database in the work folder; nothing is reported to telemetry hosts."""
    environment = {**os.environ, "PREFECT_HOME": str(work / "prefect-home"),
                   "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                   "GX_ANALYTICS_ENABLED": "False"}
    environment.pop("PREFECT_API_URL", None)
    return environment


def benchmark(docs: int, args: argparse.Namespace) -> None:
    """Every measure for one corpus size."""
    work: Path = args.work
    environment = phase_environment(work)
    corpus, manifest = corpus_for(docs, args.seed, work)
    emit({"measure": "generate", **manifest})
    texts = work / f"texts-{docs}-seed{args.seed}.jsonl"
    rss_dir = work / "rss"

    extraction = None
    if not args.skip_extraction:
        log(f"{docs} documents: extraction")
        measures, observed = run_phase("extraction", ["--corpus", str(corpus), "--texts", str(texts)],
                                       environment, rss_dir / f"extraction-{docs}.jsonl")
        if measures is None:
            emit({"measure": "extraction", "docs": docs, **observed})
            return
        for measure in measures:
            emit(measure | observed)
        extraction = next(m for m in measures if m["measure"] == "extraction")

    if extraction is not None and not args.skip_reference:
        log(f"{docs} documents: reference")
        measures, observed = run_phase("reference", ["--corpus", str(corpus), "--texts", str(texts)],
                                       environment, rss_dir / f"reference-{docs}.jsonl")
        if measures is None:
            emit({"measure": "reference_spacy", "docs": docs, **observed})
        else:
            reference = measures[0]
            emit(reference | observed | {
                "ratio": round(extraction["words_per_s"] / reference["words_per_s"], 3),
                "ratio_cpu": round(extraction["words_per_cpu_s"] / reference["words_per_cpu_s"], 3)})

    if args.skip_flow:
        return
    output = work / f"output-{docs}"
    shutil.rmtree(output, ignore_errors=True)
    flow_arguments = ["--corpus", str(corpus), "--output", str(output), "--batch-size", str(args.batch_size)]
    log(f"{docs} documents: flow into a fresh {output}")
    flow_options = ["--task-runner", args.task_runner] + (["--workers", str(args.workers)] if args.workers else [])
    if args.publish_despite_gate:
        flow_options.append("--publish-despite-gate")
    measures, observed = run_phase("flow", flow_arguments + flow_options, environment,
                                   rss_dir / f"flow-{docs}-{args.task_runner}.jsonl", timeout=args.flow_timeout)
    if measures is None:
        emit({"measure": "flow", "docs": docs, "batch_size": args.batch_size, "task_runner": args.task_runner,
              "batches_done": parts_written(output), **observed})
        return
    flow = measures[0]
    rates = {"load_average": os.getloadavg(), "docs_per_s": round(flow["docs"] / flow["seconds"], 1)}
    if extraction is not None:
        # The flow reads the same documents as the extraction phase: their words give its rate.
        words = extraction["words"]
        rates |= {"words": words, "words_per_s": round(words / flow["seconds"]),
                  "words_per_s_per_core": round(words / flow["seconds"] / os.cpu_count())}
    emit(flow | rates | observed)
    if args.skip_rerun:
        return

    log(f"{docs} documents: no-op re-run")
    measures, observed = run_phase("noop_rerun", flow_arguments, environment,
                                   rss_dir / f"noop_rerun-{docs}.jsonl", timeout=args.flow_timeout)
    emit((measures[0] if measures else {"measure": "noop_rerun", "docs": docs}) | observed)
    log(f"{docs} documents: no-op re-run through the command line")
    emit({**time_cli_rerun(corpus, output, environment), "docs": docs})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, action="append",
                        help="corpus size; repeat for several (default: 1000 and 10000)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help=f"folder for corpora, outputs and memory logs (default: {DEFAULT_WORK})")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed")
    parser.add_argument("--batch-size", type=int, default=200, help="documents per Prefect task")
    parser.add_argument("--skip-flow", action="store_true", help="measure extraction and reference only")
    parser.add_argument("--skip-reference", action="store_true", help="leave out the spaCy reference")
    parser.add_argument("--skip-extraction", action="store_true",
                        help="leave out the extraction phase (and the reference, which reads its texts)")
    parser.add_argument("--skip-rerun", action="store_true", help="leave out the no-op re-runs after the flow")
    parser.add_argument("--task-runner", choices=["processes", "threads", "dask"], default="processes",
                        help="where the flow builds its batches: worker processes (the default, one per "
                             "core), threads of the flow's process, or a local Dask cluster")
    parser.add_argument("--workers", type=int,
                        help="worker processes (processes: default one per core; dask: default 2)")
    parser.add_argument("--publish-despite-gate", action="store_true",
                        help="publish the flow's release even if validation fails (validation still "
                             "runs and its failures are reported), so that the no-op re-run can be timed")
    parser.add_argument("--flow-timeout", type=float, default=1500,
                        help="seconds after which a flow run is stopped and reported unfinished")
    args = parser.parse_args(argv)
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    emit(machine() | {"load_average": os.getloadavg()})
    for docs in args.docs or [1000, 10_000]:
        benchmark(docs, args)


if __name__ == "__main__":
    main()
