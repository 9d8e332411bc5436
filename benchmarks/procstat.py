"""Memory and CPU of a process tree read from /proc (Linux): RSS, peak RSS and CPU time per process."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")


def _parent_ids() -> dict[int, int]:
    """pid -> parent pid for every process visible in /proc."""
    parents = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) is in parentheses and may hold spaces; ppid follows it.
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Every process below pid (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for child, parent in _parent_ids().items():
        children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def memory_mb(pid: int) -> tuple[float, float] | None:
    """(current RSS, peak RSS) of one process in MB, or None if it is gone."""
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    values = {}
    for line in status.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, amount, _unit = line.split()
            values[name[:-1]] = int(amount) / 1024
    if "VmRSS" not in values:  # a zombie has no memory lines
        return None
    return values["VmRSS"], values["VmHWM"]


def pss_mb(pid: int) -> float | None:
    """Proportional set size of one process in MB (its private pages, plus its share of pages it shares
    with other processes: forked workers share most of the fork server's), or None if it is gone.
    Summed over a tree, PSS counts every page once, where summed RSS counts shared pages again and again."""
    try:
        rollup = (PROC / str(pid) / "smaps_rollup").read_text()
    except OSError:
        return None
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return None


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> list[str] | None:
    """`/proc/<pid>/stat` after the command name (field 3 of stat is item 0), or None if it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def cpu_seconds_of(pid: int) -> float | None:
    """User + system CPU seconds one process has used so far, or None if it is gone."""
    fields = _stat_fields(pid)
    # utime, stime (fields 14 and 15 of stat)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / _TICKS


def _command(pid: int) -> str:
    return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def role_of(pid: int) -> str:
    """What a process is in a flow run, from its command line: a batch "worker" (forked by the
    multiprocessing fork server, or spawned), the "fork_server" itself, the "prefect_server"
    (uvicorn), a "dask" process, or "other"."""
    try:
        command = _command(pid)
    except OSError:
        return "other"
    if "uvicorn" in command or "prefect server" in command:
        return "prefect_server"
    if "multiprocessing.forkserver" in command:
        # Workers forked from the server keep its command line; the server's parent is the flow.
        fields = _stat_fields(pid)  # item 1: the parent's pid
        try:
            return "worker" if fields and "multiprocessing.forkserver" in _command(int(fields[1])) \
                else "fork_server"
        except OSError:
            return "other"
    if "spawn_main" in command and "resource_tracker" not in command:
        return "worker"
    if "dask" in command or "distributed" in command:
        return "dask"
    return "other"


def own_peak_rss_mb() -> float:
    """This process's peak RSS (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def waited_children_peak_rss_mb() -> float:
    """Largest peak RSS among this process's children that have ended and been waited for."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def descendants_peak_rss_mb(pid: int | None = None) -> float:
    """Largest peak RSS among the live processes below pid (default: this process)."""
    peaks = [m[1] for child in descendants(pid or os.getpid()) if (m := memory_mb(child))]
    return max(peaks, default=0.0)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children, and of the
    multiprocessing fork server with its waited-for children (the batch workers forked from it)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + fork_server_cpu_seconds()


def fork_server_cpu_seconds() -> float:
    """CPU time of this process's multiprocessing fork server and of its ended children (0 if none)."""
    from multiprocessing import forkserver

    # Private, but stable across 3.11-3.13; a missing attribute only reads as no fork server.
    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    fields = _stat_fields(pid) if pid else None
    return 0.0 if fields is None else sum(int(value) for value in fields[11:15]) / _TICKS  # u/s, cu/cs time


@dataclass
class TreeSampler:
    """Samples a process tree's RSS every `interval` seconds in a thread, appending JSON lines to a file."""

    pid: int
    log_path: Path
    interval: float = 1.0
    peak_tree_rss_mb: float = 0.0
    peak_tree_pss_mb: float = 0.0
    peak_by_pid: dict[int, float] = field(default_factory=dict)
    # Last CPU seconds seen per process, with its role (a process's CPU after the last sample is lost).
    cpu_by_pid: dict[int, tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeSampler:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        started = time.monotonic()
        with self.log_path.open("w", encoding="utf-8") as log:
            while not self._stop.is_set():
                self.sample(log, time.monotonic() - started)
                self._stop.wait(self.interval)

    def sample(self, log, elapsed: float) -> None:
        processes = {}
        for pid in [self.pid, *descendants(self.pid)]:
            if (memory := memory_mb(pid)) is not None:
                processes[pid] = memory
                self.peak_by_pid[pid] = max(self.peak_by_pid.get(pid, 0.0), memory[1])
                if (cpu := cpu_seconds_of(pid)) is not None:
                    # A process's role is read from its command line once, when first seen.
                    role = self.cpu_by_pid[pid][0] if pid in self.cpu_by_pid else (
                        "main" if pid == self.pid else role_of(pid))
                    self.cpu_by_pid[pid] = (role, cpu)
        if not processes:
            return
        total = sum(rss for rss, _peak in processes.values())
        self.peak_tree_rss_mb = max(self.peak_tree_rss_mb, total)
        tree_pss = sum(pss for pid in processes if (pss := pss_mb(pid)) is not None)
        self.peak_tree_pss_mb = max(self.peak_tree_pss_mb, tree_pss)
        log.write(json.dumps({"t": round(elapsed, 1), "tree_rss_mb": round(total, 1),
                              "tree_pss_mb": round(tree_pss, 1),
                              "rss_mb": {pid: round(rss, 1) for pid, (rss, _) in processes.items()}}) + "\n")
        log.flush()

    def cpu_seconds_by_role(self) -> dict[str, float]:
        """CPU seconds per role as last sampled: the phase's own process ("main"), workers, server."""
        totals: dict[str, float] = {}
        for role, seconds in self.cpu_by_pid.values():
            totals[role] = round(totals.get(role, 0.0) + seconds, 1)
        return totals

    def peak_rss_mb_by_role(self) -> dict[str, float]:
        """The largest peak RSS (VmHWM as last sampled) of any one process, per role."""
        peaks: dict[str, float] = {}
        for pid, peak in self.peak_by_pid.items():
            role = self.cpu_by_pid[pid][0] if pid in self.cpu_by_pid else "other"
            peaks[role] = round(max(peaks.get(role, 0.0), peak), 1)
        return peaks

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
