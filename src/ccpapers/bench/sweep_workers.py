"""How parallel sweep workers share one study: its storage, the census of live trials, heartbeats.

Claim logic (exactly ``n_trials`` trials, none twice, none lost): each trial occupies a
*slot*, its own number, or for a retry the number of the trial it replaces. A trial superseded
by a retry no longer counts. After ``ask()`` a worker counts the live trials ordered before its
own (by slot, then number); if ``n_trials`` are already ahead it marks its trial ``surplus``
and waits. A worker killed with ``kill -9`` stops sending heartbeats; after the grace period its
RUNNING trial becomes FAIL and ``RetryHeartbeatStaleTrialCallback`` enqueues a WAITING copy with
the same parameters.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def make_storage(url: str, heartbeat: int, grace: int) -> Any:
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(6):
        try:
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=kwargs,
                heartbeat_interval=heartbeat,
                grace_period=grace,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
            )
        except (OperationalError, IntegrityError) as exc:
            # workers started together race to create the schema ("table ... already exists",
            # a duplicate alembic_version row): the loser waits and connects to the winner's
            if attempt == 5 or not ("already exists" in str(exc) or "UNIQUE constraint" in str(exc)):
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _slot(t: Any) -> int:
    hist = t.system_attrs.get("retry_history") or []
    return min(hist) if hist else t.number


def census(study: Any) -> list[Any]:
    """Live trials (not superseded by a retry, not surplus), ordered by (slot, number)."""
    trials = study.get_trials(deepcopy=False)
    superseded = {n for t in trials for n in (t.system_attrs.get("retry_history") or [])}
    live = [t for t in trials if t.number not in superseded and not t.user_attrs.get("surplus")]
    seen: set[int] = set()
    out = []
    for t in sorted(live, key=lambda t: (_slot(t), t.number)):
        if _slot(t) in seen:  # a duplicate retry of the same slot
            continue
        seen.add(_slot(t))
        out.append(t)
    return out


class Heartbeat:
    def __init__(self, storage: Any, trial_id: int, interval: float) -> None:
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried next interval
                log.debug("heartbeat failed", exc_info=True)

    def __enter__(self) -> Heartbeat:
        self.storage.record_heartbeat(self.trial_id)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
