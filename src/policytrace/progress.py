"""A progress bar for long runs on a terminal; silent when not wanted or not on a terminal."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress


class Progress:
    """Counts input files as their batches finish.

    The bar goes to stderr (or `console`), so output redirected to a file never holds it, and it
    shows only when that stream is a terminal.
    """

    def __init__(self, total: int, enabled: bool = True, label: str = "documents",
                 console: Console | None = None) -> None:
        self._bar = None
        console = console or Console(stderr=True)
        if enabled and console.is_terminal:
            self._bar = RichProgress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
                                     TimeRemainingColumn(), TextColumn("{task.description}"),
                                     console=console, transient=True)
            self._task = self._bar.add_task("", total=total)

    def __enter__(self) -> Progress:
        if self._bar:
            self._bar.start()
        return self

    def advance(self, files: int, note: str = "") -> None:
        if self._bar:
            self._bar.update(self._task, advance=files, description=note)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._bar:
            self._bar.stop()
