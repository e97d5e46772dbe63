"""Stewards' scopes (CONTRACT.md §5): each steward acts only on the subtrees of the units
assigned to them, in review (waive, reject, reopen) and in sign-off (approve, unapprove).

A steward is a user name: the Airflow user on the review and sign-off pages and in the
human-in-the-loop sign-off, the login name at the command line. An assignment names a unit
of levels 1-4 (the steward acts on its whole subtree, in each period's own tree) or
:data:`EVERY_UNIT`. Scopes are in force once the warehouse holds one assignment: until
the first ``grassroots scope grant``, every steward acts everywhere, as before scopes
existed (an upgraded warehouse does not lock its stewards out). Every grant and revocation
is kept.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from grassroots import warehouse as wh

EVERY_UNIT = "*"
EVERY_UNIT_LABEL = "全部单位 / every unit"


class ScopeError(ValueError):
    """An action outside the steward's scope, or a bad assignment; the message says why,
    in Chinese and English."""


def _active() -> sa.ColumnElement[bool]:
    return wh.steward_scope.c.revoked_at.is_(None)


def in_force(conn: sa.Connection) -> bool:
    """Whether any assignment is in force (else every steward acts everywhere)."""
    s = wh.steward_scope.c
    return conn.execute(sa.select(s.scope_id).where(_active()).limit(1)).first() is not None


def assigned(conn: sa.Connection, user: str) -> list[str]:
    """The unit codes assigned to ``user`` now (``*`` for every unit)."""
    s = wh.steward_scope.c
    return list(conn.execute(
        sa.select(s.unit_code).where(s.user_name == user.strip(), _active())
        .order_by(s.unit_code)).scalars())


def _code_prefix(code: str) -> str:
    """The significant digits of an area code: a unit below it starts with them."""
    for width in (2, 4, 6, 9):
        if code[width:] == "0" * (12 - width):
            return code[:width]
    return code


def covers(conn: sa.Connection, user: str, period: str, unit_code: str | None) -> bool:
    """Whether ``user`` may act on ``unit_code`` in ``period``: a unit assigned to them is
    it or above it in the period's tree (by its code's digits when the unit is not in the
    tree, e.g. an unknown code)."""
    if not in_force(conn):
        return True
    codes = assigned(conn, user)
    if EVERY_UNIT in codes:
        return True
    if not codes or not unit_code:
        return False
    if unit_code in codes:
        return True
    c = wh.unit_closure.c
    ancestors = set(conn.execute(
        sa.select(c.ancestor_code).where(c.period == period, c.descendant_code == unit_code)
    ).scalars())
    if ancestors:
        return bool(ancestors & set(codes))
    return any(unit_code.startswith(_code_prefix(code)) for code in codes)


def require(conn: sa.Connection, user: str, period: str, unit_code: str | None,
            doing_zh: str, doing_en: str) -> None:
    """Raise :class:`ScopeError` unless ``user`` may act on ``unit_code`` in ``period``."""
    if covers(conn, user, period, unit_code):
        return
    codes = assigned(conn, user)
    mine = "、".join(codes) if codes else "无"
    raise ScopeError(
        f"{user} 无权{doing_zh} {unit_code or '(无单位)'}：其负责范围为 {mine}"
        f"（由管理员用 grassroots scope grant 分配） / {user} may not {doing_en} "
        f"{unit_code or '(no unit)'}: outside their scope ({', '.join(codes) or 'none'}; "
        "an administrator assigns units with `grassroots scope grant`)")


def _unit_name(conn: sa.Connection, unit_code: str) -> str | None:
    """The name of an official unit of levels 1-4 (a steward is assigned no village)."""
    u = wh.unit.c
    return conn.execute(sa.select(u.name).where(
        u.unit_code == unit_code, u.valid_from.is_(None), u.level < wh.VILLAGE_LEVEL)).scalar()


def grant(engine: Engine, user: str, unit_code: str, actor: str,
          note: str | None = None) -> dict:
    """Assign ``unit_code`` (a region, city, county or township, or ``*``) to ``user``."""
    user, unit_code = (user or "").strip(), (unit_code or "").strip()
    if not user:
        raise ScopeError("必须指明用户 / a user name is required")
    if not actor or not actor.strip():
        raise ScopeError("必须记录操作人 / the administrator acting must be named")
    with engine.begin() as conn:
        if unit_code != EVERY_UNIT and _unit_name(conn, unit_code) is None:
            raise ScopeError(
                f"{unit_code} 不是已知的省(区)、市、县或乡镇代码 / {unit_code} is no known "
                f"region, city, county or township code (or {EVERY_UNIT} for every unit)")
        if unit_code in assigned(conn, user):
            raise ScopeError(f"{user} 已负责 {unit_code} / {user} is assigned {unit_code} already")
        now = datetime.now(UTC)
        conn.execute(wh.steward_scope.insert().values(
            user_name=user, unit_code=unit_code, granted_by=actor.strip(), granted_at=now,
            note=note.strip() if note and note.strip() else None))
    return {"user_name": user, "unit_code": unit_code, "granted_by": actor.strip(),
            "granted_at": now}


def revoke(engine: Engine, user: str, unit_code: str, actor: str) -> dict:
    """End ``user``'s assignment of ``unit_code`` (the row is kept, marked revoked)."""
    user, unit_code = (user or "").strip(), (unit_code or "").strip()
    if not actor or not actor.strip():
        raise ScopeError("必须记录操作人 / the administrator acting must be named")
    s = wh.steward_scope.c
    now = datetime.now(UTC)
    with engine.begin() as conn:
        ended = conn.execute(
            wh.steward_scope.update()
            .where(s.user_name == user, s.unit_code == unit_code, _active())
            .values(revoked_by=actor.strip(), revoked_at=now)).rowcount
    if not ended:
        raise ScopeError(f"{user} 未负责 {unit_code} / {user} is not assigned {unit_code}")
    return {"user_name": user, "unit_code": unit_code, "revoked_by": actor.strip(),
            "revoked_at": now}


def assignments(engine: Engine, user: str | None = None,
                include_revoked: bool = False) -> list[dict]:
    """The assignments (of ``user``, or everyone's), each with its unit's name."""
    s, u = wh.steward_scope.c, wh.unit.c
    query = (sa.select(wh.steward_scope, u.name, u.level)
             .outerjoin(wh.unit, sa.and_(u.unit_code == s.unit_code, u.valid_from.is_(None)))
             .order_by(s.user_name, s.unit_code, s.scope_id))
    if user:
        query = query.where(s.user_name == user.strip())
    if not include_revoked:
        query = query.where(_active())
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        if row["unit_code"] == EVERY_UNIT:
            row["name"] = EVERY_UNIT_LABEL
    return rows


def scope_roots(engine: Engine, user: str) -> list[str] | None:
    """The units whose subtrees ``user`` acts on; None when that is every unit (scopes not
    in force, or ``*`` assigned)."""
    with engine.connect() as conn:
        if not in_force(conn):
            return None
        codes = assigned(conn, user)
    return None if EVERY_UNIT in codes else codes


def covers_clause(conn: sa.Connection, user: str, period: sa.ColumnElement,
                  unit_code: sa.ColumnElement) -> sa.ColumnElement[bool] | None:
    """:func:`covers` as a SQL condition on the columns ``period`` and ``unit_code`` (of
    the rows a bulk action reads), so a set of rows is checked in one statement; None
    when ``user`` acts everywhere (no condition)."""
    if not in_force(conn):
        return None
    codes = assigned(conn, user)
    if EVERY_UNIT in codes:
        return None
    if not codes:
        return sa.false()
    c = wh.unit_closure.c
    in_tree = (sa.select(c.descendant_code)
               .where(c.period == period, c.descendant_code == unit_code).exists())
    under = (sa.select(c.descendant_code)
             .where(c.period == period, c.descendant_code == unit_code,
                    c.ancestor_code.in_(codes)).exists())
    # a unit not in the period's tree is placed by its code's digits, as covers does
    by_digits = sa.or_(*(unit_code.startswith(_code_prefix(code), autoescape=True)
                         for code in codes))
    return sa.and_(unit_code.is_not(None),
                   sa.or_(unit_code.in_(codes), under, sa.and_(~in_tree, by_digits)))
