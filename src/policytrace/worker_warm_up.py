"""Imported last by the workers' fork server (`pipeline.WORKER_PRELOAD`): the warm-up every worker would repeat.

Compiling the default topic's matchers, loading py3langid's model and importing matplotlib (the
release's figure is drawn in a worker while the gate runs) take ~2.7 s of CPU; done here once,
beside Prefect's start, every forked worker starts with them. Each worker still runs
`pipeline._warm_worker` for its own topic, which re-reads the topic's files and reuses this
compiled form only while their fingerprint is unchanged.
"""

from __future__ import annotations

from policytrace.pipeline import warm_up_for_batches
from policytrace.topic import DEFAULT_TOPIC

# The fork server survives only an ImportError in what it preloads: anything else would stop it,
# and every pool with it. Whatever fails here, each worker does it for itself.
try:
    import policytrace.figures  # noqa: F401 - matplotlib, for the figure
except Exception:  # noqa: BLE001
    pass
try:
    warm_up_for_batches(DEFAULT_TOPIC)
except Exception:  # noqa: BLE001
    pass
