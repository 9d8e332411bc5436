"""Words per CPU-second of `extract_document` over a corpus folder, and the time of the number and
date grammars alone.

    python benchmarks/extract_speed.py /tmp/spd-corpus
    python benchmarks/extract_speed.py tests/devset --repeat 4 --components
    python benchmarks/extract_speed.py /tmp/spd-corpus --record-calls /tmp/calls.pkl
    python benchmarks/extract_speed.py --check-calls /tmp/calls.pkl

Time is CPU time of this process (`time.process_time`), so other load on a shared machine matters
less than with wall time; each measure is the best of `--trials` runs over the same documents.
The documents are read (ingested) once before timing; only `extract_document` is timed.

`--components` also times `find_numbers` and `find_dates` alone: their calls made while extracting
are recorded once (arguments only), then replayed in a loop without the rest of the extractor.

The extractor runs compiled where the installation compiled it (see docs/architecture.md);
`POLICYTRACE_PURE_PYTHON=1` times the Python source instead. `--components`, `--record-calls` and
`--check-calls` always run the source (they wrap the extractor's calls to the grammars).

`--record-calls FILE` saves every call of `find_numbers` / `find_dates` made while extracting the
corpus, with its result (all fields of every mention). `--check-calls FILE` replays those calls
against the current code and reports any result that differs: a change that is only meant to make
them faster must report 0 differences.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def read_documents(folders: list[Path], max_docs: int | None) -> list:
    """The documents of the folders, ingested as the pipeline reads them."""
    from policytrace.documents import Document
    from policytrace.ingest import discover_files, read_file

    documents = []
    for folder in folders:
        files, _skipped = discover_files(folder)
        for path in files:
            documents.extend(item for item in read_file(path, folder) if isinstance(item, Document))
            if max_docs and len(documents) >= max_docs:
                return documents[:max_docs]
    return documents


class _Recorder:
    """Wraps the extractor's references to find_numbers / find_dates and records their calls."""

    def __init__(self, keep_results: bool) -> None:
        from policytrace.extract import extractor

        self.module = extractor
        self.keep_results = keep_results
        self.calls: list[tuple[str, tuple, dict, object]] = []
        self.originals = {"find_numbers": extractor.find_numbers, "find_dates": extractor.find_dates}

    def __enter__(self) -> _Recorder:
        for name, function in self.originals.items():
            setattr(self.module, name, self._wrap(name, function))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, function in self.originals.items():
            setattr(self.module, name, function)

    def _wrap(self, name: str, function):
        calls, keep = self.calls, self.keep_results

        def recorded(*args, **kwargs):
            result = function(*args, **kwargs)
            calls.append((name, args, kwargs, list(result) if keep else None))
            return result

        return recorded


def extract_all(documents: list, topic) -> None:
    from policytrace.extract import extract_document

    for document in documents:
        extract_document(document, topic)


def best_cpu(function, trials: int) -> list[float]:
    """CPU seconds of each trial."""
    times = []
    for _ in range(trials):
        before = time.process_time()
        function()
        times.append(time.process_time() - before)
    return times


def replay(calls: list, name: str) -> None:
    from policytrace.extract import dates, numbers

    function = numbers.find_numbers if name == "find_numbers" else dates.find_dates
    for called, args, kwargs, _result in calls:
        if called == name:
            function(*args, **kwargs)


def check_calls(path: Path) -> int:
    """Replay recorded calls against the current code; the number of differing results."""
    from policytrace.extract import dates, numbers

    functions = {"find_numbers": numbers.find_numbers, "find_dates": dates.find_dates}
    with path.open("rb") as stream:
        calls = pickle.load(stream)
    differences = 0
    counts = {"find_numbers": 0, "find_dates": 0}
    mentions = {"find_numbers": 0, "find_dates": 0}
    for name, args, kwargs, expected in calls:
        counts[name] += 1
        got = list(functions[name](*args, **kwargs))
        mentions[name] += len(expected)
        if got != expected:
            differences += 1
            if differences <= 10:
                text, start, end = args[0], args[1], args[2]
                print(f"DIFF {name} {text[start:end]!r} {args[1:]} {kwargs}\n"
                      f"  expected {expected}\n  got      {got}")
    print(f"checked {counts['find_numbers']} find_numbers calls ({mentions['find_numbers']} "
          f"mentions) and {counts['find_dates']} find_dates calls ({mentions['find_dates']} "
          f"mentions): {differences} differ")
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("corpus", nargs="*", type=Path, help="corpus folder(s), e.g. /tmp/spd-corpus")
    parser.add_argument("--trials", type=int, default=3, help="timed runs; the best is reported (3)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="extract the documents this many times per trial (for small folders)")
    parser.add_argument("--max-docs", type=int, default=None, help="read at most this many documents")
    parser.add_argument("--components", action="store_true",
                        help="also time find_numbers and find_dates alone (replayed calls)")
    parser.add_argument("--no-extract", action="store_true",
                        help="skip timing the whole extract_document (with --components)")
    parser.add_argument("--record-calls", type=Path, metavar="FILE",
                        help="save every find_numbers/find_dates call and its result to FILE")
    parser.add_argument("--check-calls", type=Path, metavar="FILE",
                        help="replay the calls saved in FILE and compare the results")
    options = parser.parse_args()

    if options.check_calls or options.record_calls or options.components:
        # Recording wraps the extractor's module-level references to the grammars; the compiled
        # extractor calls them directly, so these modes run the Python source.
        os.environ["POLICYTRACE_PURE_PYTHON"] = "1"
    if options.check_calls:
        return 1 if check_calls(options.check_calls) else 0
    if not options.corpus:
        parser.error("give a corpus folder (or --check-calls FILE)")

    from policytrace.extract import extract_document, extractor_build
    from policytrace.ingest.common import word_count
    from policytrace.paths import DEFAULT_TOPIC
    from policytrace.settings import batch_collector, freeze_loaded
    from policytrace.topic import load_topic

    topic = load_topic(DEFAULT_TOPIC)
    documents = read_documents(options.corpus, options.max_docs) * options.repeat
    words = sum(word_count(document.text) for document in documents)
    extract_document(documents[0], topic)  # loads lexicons and compiles patterns once
    print(f"{len(documents)} documents, {words} words; extractor: {extractor_build()}", flush=True)

    if options.record_calls:
        with _Recorder(keep_results=True) as recorder:
            extract_all(documents, topic)
        with options.record_calls.open("wb") as stream:
            pickle.dump(recorder.calls, stream, protocol=pickle.HIGHEST_PROTOCOL)
        print(f"recorded {len(recorder.calls)} calls to {options.record_calls}")
        return 0

    if not options.no_extract:
        # As the batch workers run it: the warm-up frozen, the collector tuned for batches.
        freeze_loaded()
        with batch_collector():
            times = best_cpu(lambda: extract_all(documents, topic), options.trials)
        best = min(times)
        print(f"extract_document: {words / best:,.0f} words/s per CPU-second "
              f"(best {best:.3f} s CPU of {', '.join(f'{t:.3f}' for t in times)})", flush=True)
    if options.components:
        with _Recorder(keep_results=False) as recorder:
            extract_all(documents, topic)
        for name in ("find_numbers", "find_dates"):
            count = sum(1 for call in recorder.calls if call[0] == name)
            times = best_cpu(lambda name=name: replay(recorder.calls, name), options.trials)
            best = min(times)
            print(f"{name}: {count} calls, best {best:.3f} s CPU "
                  f"({best / max(count, 1) * 1e6:.2f} us a call; trials "
                  f"{', '.join(f'{t:.3f}' for t in times)})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
