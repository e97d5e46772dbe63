"""One run of a period at a time: a lease per period in the warehouse (``period_run_lock``).

A run of a period (the CLI's ``run``, or the tasks of one Airflow DAG run: ingest,
validate, docs, feedback, rollup, publish) spans several processes, Celery workers and
machines, so a lock of one connection or transaction cannot serialise it. The run takes
the lease of each of its periods under its own id (``holder``: ``"<dag id>/<run id>"``
for Airflow, a generated one for the CLI), every stage checks in under that id, and the
run gives the lease back at its end. Another run of the period waits for it, or gives up
with :class:`PeriodBusy`, which names the run that holds it and since when.

A lease lasts ``GRASSROOTS_PERIOD_LEASE_SECONDS`` (default 30 minutes) from its last
renewal: every stage renews it as it starts and ends, and a thread renews it while the
stage runs. A run that died without giving it back (its worker lost) holds the period no
longer than that.

Several periods are taken together or not at all (one transaction), and a run waits
holding none of them, so two runs of overlapping periods cannot wait for each other.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30 * 60
DEFAULT_WAIT_SECONDS = 30 * 60
POLL_SECONDS = 2.0


def lease_seconds() -> float:
    """How long a lease lasts after its last renewal."""
    return float(os.environ.get("GRASSROOTS_PERIOD_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS)


def wait_seconds() -> float:
    """How long a stage waits for another run's lease before it gives up, by default."""
    return float(os.environ.get("GRASSROOTS_PERIOD_WAIT_SECONDS") or DEFAULT_WAIT_SECONDS)


@dataclass(frozen=True)
class Holder:
    """Who holds a period's lease."""

    period: str
    run_id: str
    owner: str | None
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        since = _text(self.acquired_at)
        return (f"期间 {self.period} 正由运行 {self.run_id} 处理(自 {since} 起)/ "
                f"period {self.period} is being processed by run {self.run_id} since {since}"
                f" (on {self.owner or '?'}; its lease runs to {_text(self.expires_at)} "
                "unless renewed)")


class PeriodBusy(RuntimeError):
    """Another run holds the lease of a period this run needs."""

    def __init__(self, holders: Sequence[Holder], waited: float = 0.0) -> None:
        self.holders = list(holders)
        self.waited = waited
        message = "; ".join(h.describe() for h in self.holders)
        if waited:
            message += f" — waited {waited:.0f} s / 已等待 {waited:.0f} 秒"
        super().__init__(message)


def new_holder(kind: str = "cli") -> str:
    """A run id of its own for a run that has none (the CLI's)."""
    return f"{kind}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _owner() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def _text(moment: datetime | None) -> str:
    if moment is None:
        return "?"
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; they were written in UTC
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=UTC)


def _periods(periods: Iterable[str]) -> list[str]:
    # always in one order: two runs lock the rows they share in the same order
    return sorted({str(p) for p in periods})


def _locking(engine: Engine) -> bool:
    # a database only this process sees (SQLite in memory) has no other run to meet
    return wh.has_other_connections(engine)


_ready: set[str] = set()


def _ensure_ready(engine: Engine) -> None:
    """The warehouse at this version's schema revision, made if new, once per process: a
    run's lease is the first thing it touches (ingest takes it before it opens the
    warehouse), so a warehouse behind is refused here, naming ``grassroots db upgrade``."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _ready:
        return
    wh.ready(engine)
    _ready.add(key)


def _now(conn: sa.Connection) -> datetime:
    """The time leases are written and compared in: PostgreSQL's clock, which every
    worker shares; the process's on SQLite (one machine)."""
    if conn.dialect.name == "postgresql":
        return conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
    return datetime.now(UTC)


def _insert_missing(conn: sa.Connection, periods: list[str]) -> None:
    """A row for each period never claimed. A write first: on SQLite it takes the write
    lock at once, so no other process changes the rows between this transaction's read
    and its write."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(wh.period_run_lock).on_conflict_do_nothing(),
                 [{"period": p} for p in periods])


def try_acquire(engine: Engine, periods: Iterable[str], holder: str) -> list[Holder]:
    """Take (or renew, if ``holder`` has it) the lease of every period, all or none, in
    one transaction; return the other runs that hold any of them (empty: taken)."""
    periods = _periods(periods)
    if not periods or not _locking(engine):
        return []
    _ensure_ready(engine)
    t = wh.period_run_lock.c
    with engine.connect() as conn, conn.begin() as transaction:
        _insert_missing(conn, periods)
        rows = conn.execute(
            sa.select(wh.period_run_lock).where(t.period.in_(periods)).order_by(t.period)
            .with_for_update()).all()
        now = _now(conn)
        busy = [Holder(r.period, r.run_id, r.owner, _aware(r.acquired_at), _aware(r.expires_at))
                for r in rows
                if r.run_id is not None and r.run_id != holder and _aware(r.expires_at) > now]
        if busy:
            transaction.rollback()
            return busy
        for r in rows:
            if r.run_id is not None and r.run_id != holder:
                log.warning("period %s: the lease of run %s expired at %s (a run that died?); "
                            "run %s takes it", r.period, r.run_id, _text(r.expires_at), holder)
        expires = now + timedelta(seconds=lease_seconds())
        conn.execute(
            wh.period_run_lock.update().where(t.period.in_(periods)).values(
                run_id=holder, owner=_owner(), renewed_at=now, expires_at=expires,
                acquired_at=sa.case((t.run_id == holder, t.acquired_at), else_=now)))
    return []


def acquire(engine: Engine, periods: Iterable[str], holder: str,
            wait: float | None = None) -> None:
    """Take the lease of every period for ``holder`` (at once or, while another run holds
    any of them, as soon as they are all free, for up to ``wait`` seconds, by default
    ``wait_seconds()``); raise :class:`PeriodBusy` when the wait is over. Logs, at once and
    then every minute, which run it waits for."""
    wait = wait_seconds() if wait is None else wait
    started = time.monotonic()
    said: tuple[str, ...] | None = None
    said_at = 0.0
    while True:
        try:
            holders = try_acquire(engine, periods, holder)
        except sa.exc.OperationalError as exc:
            # SQLite's write lock held past its busy timeout by a long stage of another
            # process; PostgreSQL's deadlock detector: try again while there is time
            if time.monotonic() - started >= wait:
                raise
            log.info("claiming %s for run %s: %s; trying again", list(periods), holder,
                     str(exc).splitlines()[0])
            holders = None
        if holders == []:
            if said is not None:
                log.warning("run %s took %s after waiting %.0f s", holder, _periods(periods),
                            time.monotonic() - started)
            return
        waited = time.monotonic() - started
        if holders:
            if waited >= wait:
                raise PeriodBusy(holders, waited)
            runs = tuple(sorted({h.run_id for h in holders}))
            if runs != said or time.monotonic() - said_at >= 60:
                log.warning("%s; run %s waits (up to %.0f s more)",
                            PeriodBusy(holders), holder, wait - waited)
                said, said_at = runs, time.monotonic()
        time.sleep(max(0.0, min(POLL_SECONDS, wait - waited)))


def _update_own(engine: Engine, periods: list[str], holder: str,
                values: Callable[[datetime], dict[str, Any]]) -> set[str]:
    """Give ``holder``'s leases of the periods ``values(now)``; return the periods it held.
    One statement (UPDATE … RETURNING): on SQLite its write lock is taken at once, with
    no read before it that another writer could come between."""
    _ensure_ready(engine)
    t = wh.period_run_lock.c
    with engine.begin() as conn:
        return set(conn.execute(
            wh.period_run_lock.update()
            .where(t.period.in_(periods), t.run_id == holder)
            .values(**values(_now(conn)))
            .returning(t.period)).scalars())


def renew(engine: Engine, periods: Iterable[str], holder: str) -> list[str]:
    """Push back the expiry of ``holder``'s leases; return the periods it no longer holds."""
    periods = _periods(periods)
    if not periods or not _locking(engine):
        return []
    held = _update_own(engine, periods, holder, lambda now: {
        "renewed_at": now, "expires_at": now + timedelta(seconds=lease_seconds()),
        "owner": _owner()})
    return [p for p in periods if p not in held]


def release(engine: Engine, periods: Iterable[str], holder: str) -> list[str]:
    """Give back ``holder``'s leases of the periods; return those it gave back."""
    periods = _periods(periods)
    if not periods or not _locking(engine):
        return []
    mine = _update_own(engine, periods, holder, lambda now: {
        "run_id": None, "owner": None, "acquired_at": None, "renewed_at": now,
        "expires_at": None})
    if mine:
        log.info("run %s released %s", holder, sorted(mine))
    return sorted(mine)


def holders(engine: Engine, periods: Iterable[str] | None = None) -> list[Holder]:
    """The runs holding leases (of ``periods``, or of any), expired ones included."""
    _ensure_ready(engine)
    t = wh.period_run_lock.c
    query = sa.select(wh.period_run_lock).where(t.run_id.is_not(None)).order_by(t.period)
    if periods is not None:
        query = query.where(t.period.in_(_periods(periods)))
    with engine.connect() as conn:
        return [Holder(r.period, r.run_id, r.owner, _aware(r.acquired_at), _aware(r.expires_at))
                for r in conn.execute(query)]


class _Heartbeat(threading.Thread):
    """Renews the leases while a stage runs, every sixth of their length."""

    def __init__(self, engine: Engine, periods: list[str], holder: str) -> None:
        super().__init__(name=f"lease {holder}", daemon=True)
        self.engine, self.periods, self.holder = engine, periods, holder
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(max(1.0, lease_seconds() / 6)):
            try:
                lost = renew(self.engine, self.periods, self.holder)
            except Exception as exc:  # noqa: BLE001 (a busy warehouse: the next beat tries again)
                log.info("renewing the lease of %s for run %s: %s", self.periods, self.holder,
                         str(exc).splitlines()[0])
                continue
            if lost:
                log.warning("run %s no longer holds the lease of %s (it expired and another "
                            "run took it?)", self.holder, lost)

    def stop(self) -> None:
        self.done.set()
        self.join()


@contextmanager
def holding(engine: Engine, periods: Iterable[str], holder: str | None = None,
            wait: float | None = None, release_at_end: bool | None = None) -> Iterator[str]:
    """Hold the periods' leases for the ``with`` block, renewed while it runs; yields the
    holder.

    ``holder`` None: a lease of the block's own, given back at its end (a stage run on
    its own). Otherwise the run's: taken if the run does not hold it yet (waiting like
    :func:`acquire`), renewed at the end and left to the run to give back (its last task),
    unless ``release_at_end`` (the CLI's ``run``, which holds it for the whole run)."""
    periods = _periods(periods)
    own = holder is None if release_at_end is None else release_at_end
    holder = holder or new_holder()
    if not periods or not _locking(engine):
        yield holder
        return
    _ensure_ready(engine)
    if not own:
        missing = [p for p in periods if p not in
                   {h.period for h in holders(engine, periods) if h.run_id == holder}]
        if missing:
            log.info("run %s does not hold %s yet: it claims them", holder, missing)
    acquire(engine, periods, holder, wait)
    beat = _Heartbeat(engine, periods, holder)
    beat.start()
    try:
        yield holder
    finally:
        beat.stop()
        if own:
            release(engine, periods, holder)
        else:
            try:
                renew(engine, periods, holder)
            except Exception as exc:  # noqa: BLE001 (the heartbeat renewed it a moment ago)
                log.info("renewing the lease of %s for run %s: %s", periods, holder, exc)
