"""Imported last by the workers' fork server (`pipeline.WORKER_PRELOAD`): the warm-up every worker would repeat.

Compiling the default topic's matchers and loading py3langid's model take ~1.7 s of CPU; done here
once, beside Prefect's start, every forked worker starts with them. Each worker still runs
`pipeline._warm_worker` for its own topic, which re-reads the topic's files and reuses this
compiled form only while their fingerprint is unchanged.
"""

from __future__ import annotations

from policytrace.pipeline import warm_up_for_batches
from policytrace.topic import DEFAULT_TOPIC

try:
    warm_up_for_batches(DEFAULT_TOPIC)
except Exception:  # noqa: BLE001 - the fork server must start anyway; each worker warms itself up
    pass
