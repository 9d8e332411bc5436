"""Figures published with each release: what the dataset holds, for people who would rather look."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; files only

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

# Same figure for the same data: fixed ids in the SVG, no creation date in the metadata.
matplotlib.rcParams["svg.hashsalt"] = "policytrace"
_METADATA = {"Date": None, "Creator": "policytrace"}


def event_timeline(release: Path, path: Path) -> Path:
    """Stacked bars of dated events per month and event type (undated events are counted in the title)."""
    events = pl.read_parquet(release / "events.parquet", columns=["event_type", "event_date"])
    dated = events.filter(pl.col("event_date").is_not_null())
    counts = (dated.with_columns(pl.col("event_date").dt.truncate("1mo").alias("month"))
              .group_by("month", "event_type").len().sort("month", "event_type"))
    figure, axes = plt.subplots(figsize=(10, 4.5), dpi=100)
    if counts.height:
        table = counts.pivot(on="event_type", index="month", values="len").fill_null(0).sort("month")
        months = table.get_column("month").to_list()
        types = sorted(c for c in table.columns if c != "month")
        bottom = [0] * len(months)
        colours = plt.get_cmap("tab20").colors
        for index, event_type in enumerate(types):
            values = table.get_column(event_type).to_list()
            # Only the months with events of this type: a zero-height bar draws nothing, yet cost
            # as much as a visible one (a third of the bars at 10,000 documents).
            shown = [i for i, value in enumerate(values) if value]
            axes.bar([months[i] for i in shown], [values[i] for i in shown], width=25,
                     bottom=[bottom[i] for i in shown], label=event_type, color=colours[index % len(colours)])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        axes.text(0.5, 0.5, "no dated events", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(f"Events by month of occurrence ({dated.height} dated, "
                   f"{events.height - dated.height} undated)", fontsize=11)
    axes.set_ylabel("events")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="svg", metadata=_METADATA)
    plt.close(figure)
    return path
