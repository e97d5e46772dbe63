"""What the workers read, recorded in the warehouse by the calling process: a submission
row for every file with its fate, registers' villages and returns' rows staged, a newer
accepted file superseding the older, a true copy recorded as a duplicate, a return into
an approved subtree held until that approval is undone."""


from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh
from grassroots.catalog import Catalog, Form
from grassroots.core.periods import landed_late
from grassroots.core.spool import Spooled
from grassroots.hierarchy import trees
from grassroots.intake.landing import SeenFiles
from grassroots.intake.parse import FileRejected
from grassroots.intake.read import (
    FileRead,
    sha256_of,
    staged_columns,
)

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    files_seen: int = 0
    # landing files unchanged since an earlier ingest read them (not read again)
    already_recorded: int = 0
    registers_loaded: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0  # copies of a file recorded before (see ``_record_reads``)
    held: int = 0  # returns into an approved subtree, recorded or still held (``_holding``)
    superseded: int = 0
    rows_staged: int = 0
    cell_errors: int = 0
    unreadable: int = 0
    # the closure's rows when the period's tree was (re)built, None when it stood as it was
    # (or no period's tree was asked for)
    tree_rows: int | None = None
    # the periods of the accepted returns, in the order first seen: a file in the landing
    # root names its own period, which need not be the one ingested
    accepted_periods: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int | list[str] | None]:
        return {**self.__dict__, "accepted_periods": list(self.accepted_periods)}


_SUPERSEDE = (
    wh.submission.update()
    .where(wh.submission.c.form_code == sa.bindparam("superseded_form"),
           wh.submission.c.unit_code == sa.bindparam("superseded_unit"),
           wh.submission.c.period == sa.bindparam("superseded_period"),
           wh.submission.c.status == "accepted",
           # the task's later files are recorded already: they are not older
           wh.submission.c.submission_id < sa.bindparam("by"))
    .values(status="superseded", superseded_by=sa.bindparam("by"))
)


def _duplicate_reason(original: int) -> str:
    return (f"与提交#{original}的文件相同(内容、表单、单位和期间均相同),不再重复受理 / the same "
            f"file as submission #{original} (the same bytes for the same form, unit and "
            "period): not taken again")


_SET_ORIGINAL = (
    wh.submission.update()
    .where(wh.submission.c.submission_id == sa.bindparam("copy"))
    .values(duplicate_of=sa.bindparam("original"), reason=sa.bindparam("why"))
)


def record_reads(engine: Engine, catalog: Catalog, reads: list[FileRead], result: IngestResult,
                  seen: SeenFiles) -> None:
    """Record a batch of files (registers loaded, returns' rows staged and older returns
    superseded) in one transaction: a run stopped part way leaves whole files recorded
    or none of them, and those not recorded are read again next time.

    A file read whole whose bytes, form, unit and period are those of a submission not
    rejected, recorded before or earlier in the batch, is a duplicate of the first such
    submission (as is a copy the workers knew, ``FileRead.known``): recorded with status
    'duplicate' and ``duplicate_of``, its rows neither staged nor loaded, superseding
    nothing."""
    s = wh.submission.c
    digests = sorted({r.digest for r in reads if r.digest is not None})
    spool_paths = {where.path for read in reads if (where := read.rows_spooled)}
    with engine.connect() as conn, wh.AttachedSpools(conn, spool_paths) as spools, conn.begin():
        # (bytes, form, unit, period) -> the first submission of them that was not
        # rejected, and its archive copy: one query for the batch
        originals: dict[tuple, tuple[int, str]] = {}
        # the same for the files held (not originals: not taken yet), and the periods where
        # an approval is in force (none: nothing is held, and nothing more is looked up)
        held_keys: dict[tuple, int] = {}
        approved_periods = _approved_periods(conn, reads)
        hold_reasons: dict[int, str] = {}  # by index in ``new``: why the file is held
        released: dict[int, int] = {}  # by index in ``new``: the held submission it is
        if digests:
            for row in conn.execute(
                    sa.select(s.submission_id, s.file_sha256, s.form_code, s.unit_code, s.period,
                              s.archive_path, s.status)
                    .where(s.file_sha256.in_(digests), s.status != "rejected")
                    .order_by(s.submission_id)):
                key = (row.file_sha256, row.form_code, row.unit_code, row.period)
                if row.status == "held":
                    held_keys.setdefault(key, row.submission_id)
                else:
                    originals.setdefault(key, (row.submission_id, row.archive_path))
        official = _official_levels(conn, reads)
        new: list[FileRead] = []
        batch_originals: dict[tuple, int] = {}  # the same, for files of this batch: their index
        # the duplicates, by index in ``new``: their original's id (recorded before), or
        # its index in ``new`` (in this batch)
        copy_of_recorded: dict[int, int] = {}
        copy_in_batch: dict[int, int] = {}
        for read in reads:
            if read.digest is None:
                # nothing to archive: the file vanished or is unreadable; it will be seen next run
                log.error("cannot read %s: %s", read.path, read.unreadable)
                result.unreadable += 1
                continue
            if seen.holds(read.path, read.digest):
                # the file at this path was recorded with these bytes: read again because
                # its stamp was too recent to trust
                result.already_recorded += 1
                seen.remember(read.path, read.digest, read.stamp, read.read_at_ns)
                continue
            key = (read.digest, read.form_code, read.unit_code, read.period)
            if read.rejection is None and (key in originals or key in batch_originals):
                if key in originals:
                    copy_of_recorded[len(new)], kept = originals[key]
                else:
                    copy_in_batch[len(new)] = batch_originals[key]
                    kept = new[batch_originals[key]].archived
                if (read.archive_written and kept and read.archived != kept
                        and Path(kept).exists()):
                    Path(read.archived).unlink(missing_ok=True)  # the bytes are kept already
                    read.archived = kept
            elif read.known:
                # its original is no longer recorded as it was when the run began: not
                # parsed, so not recorded now; read whole next run (not remembered)
                log.error("%s: a copy of a file no longer recorded; read again next run",
                          read.path)
                result.unreadable += 1
                continue
            else:
                if read.kind == "return" and read.rejection is None:
                    try:
                        # the registers are in the warehouse, not in the workers
                        _check_submitter(conn, catalog.forms[read.form_code], read.unit_code,
                                         read.period, official.get(read.unit_code))
                    except FileRejected as exc:
                        read.rejection = str(exc)
                hold = (_holding(conn, read.unit_code, read.period)
                        if read.kind == "return" and read.rejection is None
                        and read.period in approved_periods else None)
                if hold is not None:
                    result.held += 1
                    # not remembered: read again each run until the approval is undone
                    if key not in held_keys:
                        hold_reasons[len(new)] = hold
                        held_keys[key] = -1
                        new.append(read)
                    continue
                if key in held_keys and held_keys[key] > 0 and read.rejection is None:
                    released[len(new)] = held_keys.pop(key)
                if read.rejection is None:
                    batch_originals[key] = len(new)
            new.append(read)
            seen.remember(read.path, read.digest, read.stamp, read.read_at_ns)
        seen.write(conn)
        if not new:
            return
        copies = copy_of_recorded.keys() | copy_in_batch.keys()
        taken = [read for index, read in enumerate(new) if index not in copies]
        # before the new files are in: only a key with an accepted return already has one
        # to supersede
        accepted_keys = _accepted_keys(conn, taken)
        values = [
            {**_submission_values(read, index in copies, copy_of_recorded.get(index)),
             **({"status": "held", "reason": hold_reasons[index], "row_count": None}
                if index in hold_reasons else {})}
            for index, read in enumerate(new) if index not in released]
        inserted = iter(_insert_submissions(conn, values) if values else [])
        # a file held before, its approval undone: that submission is taken now
        ids = [released[index] if index in released else next(inserted)
               for index in range(len(new))]
        if released:
            conn.execute(wh.submission.update().where(
                wh.submission.c.submission_id == sa.bindparam("held_id")).values(
                status="accepted", reason=None, row_count=sa.bindparam("rows")), [
                {"held_id": ids[index], "rows": new[index].row_count} for index in released])
        # the duplicates of files of this batch: their originals' ids are known now
        for index, of in copy_in_batch.items():
            copy_of_recorded[index] = ids[of]
        if copy_in_batch:
            conn.execute(_SET_ORIGINAL, [
                {"copy": ids[index], "original": ids[of], "why": _duplicate_reason(ids[of])}
                for index, of in copy_in_batch.items()])
        staged: dict[str, list[tuple]] = {}
        spooled: dict[Spooled, tuple[Form, int]] = {}  # a file's rows: its form, submission
        issues: list[dict[str, object]] = []
        for index, (read, submission_id) in enumerate(zip(new, ids, strict=True)):
            if index in copies:
                log.info("duplicate %s: the same file as #%d", read.path.name,
                         copy_of_recorded[index])
                result.duplicates += 1
                continue
            if index in hold_reasons:
                log.warning("held %s: %s", read.path.name, hold_reasons[index])
                continue
            if read.rejection is not None:
                if read.internal_error:
                    log.error("unexpected error reading %s:\n%s", read.path.name, read.internal_error)
                log.warning("rejected %s: %s", read.path.name, read.rejection)
                result.rejected += 1
                continue
            if read.kind == "register":
                result.registers_loaded += 1
                continue
            issues += ({**issue, "submission_id": submission_id} for issue in read.issues)
            if read.spooled is not None:
                spooled[read.spooled] = (catalog.forms[read.form_code], submission_id)
            else:
                staged.setdefault(read.form_code, []).extend(
                    (submission_id, *row) for row in read.rows)
            key = (read.form_code, read.unit_code, read.period)
            if key in accepted_keys:
                result.superseded += conn.execute(_SUPERSEDE, {
                    "superseded_form": read.form_code, "superseded_unit": read.unit_code,
                    "superseded_period": read.period, "by": submission_id}).rowcount
            accepted_keys.add(key)
            result.accepted += 1
            if read.period not in result.accepted_periods:
                result.accepted_periods.append(read.period)
            result.rows_staged += read.row_count or 0
            result.cell_errors += read.cell_errors
        trees.write_registers(
            conn, [read.register for read in taken if read.register is not None], spools)
        for form_code, rows in staged.items():
            wh.insert_tuples(conn, wh.staging_tables[form_code],
                             ["submission_id", *staged_columns(catalog.forms[form_code])], rows,
                             binary=True)
        for chunks in wh.by_spool(spooled):
            form = spooled[chunks[0]][0]  # a spool's table holds one form's rows
            spools.copy(chunks, wh.staging_tables[form.code], staged_columns(form),
                        file_column="submission_id",
                        file_values=[spooled[chunk][1] for chunk in chunks])
        wh.insert_rows(conn, wh.validation_issue, issues)


def _holding(conn: sa.Connection, unit_code: str, period: str) -> str | None:
    """Why a return of ``unit_code`` for ``period`` is held: an approval in force covers
    the unit or a unit below it (its rows would change what was approved), named in the
    message; None when none does."""
    r, c, t = wh.approval_reach.c, wh.area_closure.c, wh.approval.c
    reached = conn.execute(
        sa.select(r.unit_code, r.level)
        .join(wh.area_closure, sa.and_(c.period == r.period, c.descendant_code == r.unit_code))
        .where(r.period == period, c.ancestor_code == unit_code)
        .order_by(r.level, r.unit_code).limit(1)).first()
    if reached is None:
        return None
    approval = conn.execute(
        sa.select(t.unit_code, t.by, t.at)
        .join(wh.area_closure, sa.and_(c.period == t.period, c.ancestor_code == t.unit_code))
        .where(t.period == period, c.descendant_code == reached.unit_code,
               t.level == reached.level, t.state == "approved")
        .order_by(t.approval_id.desc()).limit(1)).one()
    when = f"{approval.at:%Y-%m-%d %H:%M}" if isinstance(approval.at, datetime) else str(approval.at)[:16]
    return (f"{approval.unit_code} 已审核 {period} 年本单位范围的数据（{approval.by}，{when}），"
            f"本文件已收存，撤销该审核后再处理 / held: {approval.unit_code} approved the data "
            f"of {period} for this unit's area ({approval.by}, {when} UTC); the file is kept "
            "and processed once that approval is undone (grassroots unapprove)")


def _insert_submissions(conn: sa.Connection, values: list[dict[str, object]]) -> list[int]:
    """Insert the submissions, returning their ids in the order given (ascending: a later
    file's id is larger).

    On PostgreSQL the ids are drawn from the column's sequence first and the rows sent by
    ``COPY``: an ``INSERT ... RETURNING`` of a transaction's files is a long statement,
    slow to run, and psycopg parses each one again."""
    s = wh.submission.c
    if conn.dialect.name != "postgresql":
        return list(conn.execute(
            wh.submission.insert().returning(s.submission_id, sort_by_parameter_order=True),
            values).scalars())
    ids = sorted(conn.execute(sa.text(
        "select nextval(pg_get_serial_sequence('submission', 'submission_id')) "
        "from generate_series(1, :n)"), {"n": len(values)}).scalars())
    wh.insert_rows(conn, wh.submission,
                   [{"submission_id": i, **row} for i, row in zip(ids, values, strict=True)])
    return ids


def _submission_values(read: FileRead, duplicate: bool = False,
                       original: int | None = None) -> dict[str, object]:
    """The ``submission`` row of a file read; a ``duplicate``'s ``original`` is None while
    that is in the same batch (set once its id is known)."""
    accepted = read.rejection is None and not duplicate
    register = read.kind == "register"
    # the file's modification time as read: when it landed (None where it was unreadable)
    landed_at = (datetime.fromtimestamp(read.stamp[1] // 1000 / 1e6, UTC)
                 if read.stamp is not None else None)
    if duplicate:
        status, reason = "duplicate", None if original is None else _duplicate_reason(original)
    else:
        status, reason = ("accepted" if accepted else "rejected"), read.rejection
    return {
        "form_code": read.form_code, "unit_code": read.unit_code, "period": read.period,
        "file_name": read.path.name, "file_sha256": read.digest, "file_size": read.size,
        "received_at": datetime.now(UTC), "landed_at": landed_at,
        "landed_late": landed_late(read.period, landed_at),
        "row_count": read.row_count if accepted else None,
        # a register's villages are all taken; a return's are counted once validated
        "rows_accepted": read.row_count if accepted and register else None,
        "status": status, "reason": reason, "archive_path": read.archived,
        "duplicate_of": original,
    }


def _approved_periods(conn: sa.Connection, reads: list[FileRead]) -> set[str]:
    """The periods of the returns read where an approval is in force: one query a batch."""
    periods = sorted({r.period for r in reads if r.kind == "return" and r.period})
    if not periods:
        return set()
    r = wh.approval_reach.c
    return set(conn.execute(sa.select(r.period).where(r.period.in_(periods)).distinct()).scalars())


def _accepted_keys(conn: sa.Connection, reads: list[FileRead]) -> set[tuple[str, str, str]]:
    """(form, unit, period) of the accepted returns already recorded for the units of
    ``reads``: only a file with one of these keys has an older return to supersede."""
    s = wh.submission.c
    units = sorted({read.unit_code for read in reads
                    if read.kind == "return" and read.rejection is None})
    if not units:
        return set()
    return {tuple(row) for row in conn.execute(
        sa.select(s.form_code, s.unit_code, s.period)
        .where(s.unit_code.in_(units), s.status == "accepted").distinct())}


def _official_levels(conn: sa.Connection, reads: list[FileRead]) -> dict[str, str]:
    """The level (region ... township) of each official unit that sent one of ``reads``,
    in one query: the official units are in the warehouse (``sync_official_units``), and
    loading the whole official list into this process would cost more than a county's
    rerun spends on its one file."""
    units = sorted({read.unit_code for read in reads if read.kind == "return" and read.unit_code})
    if not units:
        return {}
    u = wh.dim_unit.c
    return dict(conn.execute(sa.select(u.unit_code, u.level_name).where(
        u.unit_code.in_(units), u.level < wh.VILLAGE_LEVEL)).all())


def _check_submitter(conn: sa.Connection, form: Form, unit_code: str, period: str,
                     official_level: str | None) -> None:
    """Refuse a file whose submitter is not an official unit (``official_level``) nor a
    village registered in the period, or whose level does not send this form."""
    if official_level is not None:
        level_name = official_level
    else:
        r = wh.unit_register.c
        year = int(period[:4])
        village = conn.execute(
            sa.select(r.unit_code).where(
                r.unit_code == unit_code, r.valid_from <= year,
                sa.or_(r.valid_to.is_(None), r.valid_to >= year),
            )
        ).first()
        if village is None:
            raise FileRejected(
                f"报送单位{unit_code}不是有效的行政区划或在册村 / the submitting unit {unit_code} "
                "is neither an official unit nor a registered village in the period"
            )
        level_name = "village"
    if level_name not in form.submitted_by:
        allowed = ", ".join(form.submitted_by)
        raise FileRejected(
            f"{level_name}级单位{unit_code}不能报送“{form.name_zh}”(报送单位:{allowed}) / a "
            f"{level_name} ({unit_code}) may not submit {form.code} (submitted by: {allowed})"
        )


def archive_is_intact(path: Path, digest: str) -> bool:
    return path.exists() and sha256_of(path.read_bytes()) == digest
