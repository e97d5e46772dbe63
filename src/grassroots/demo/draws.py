"""The demo's random draws: one stream per purpose, choices and exact integer allocations."""

from __future__ import annotations

import zlib

import numpy as np


def expect(condition: bool, what: str) -> None:
    # a calibration invariant; unlike assert, kept under python -O
    if not condition:
        raise RuntimeError(f"demo calibration broken: {what}")


def stream(seed: int, *parts: str | int) -> np.random.Generator:
    """An independent stream per purpose, so subsets and worker order don't change output."""
    key = [seed] + [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]
    return np.random.default_rng(key)


def choose(rng: np.random.Generator, k: int, weights: np.ndarray) -> np.ndarray:
    """Indices of ``k`` distinct items drawn with probability proportional to ``weights``."""
    weights = np.asarray(weights, dtype=float)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    eligible = int((weights > 0).sum())
    if eligible < k:
        raise ValueError(f"cannot choose {k} items from {eligible} with positive weight")
    return np.sort(rng.choice(len(weights), size=k, replace=False, p=weights / weights.sum()))


def allocate(
    total: int,
    weights: np.ndarray,
    rng: np.random.Generator,
    lo: np.ndarray | int = 0,
    hi: np.ndarray | int | None = None,
) -> np.ndarray:
    """Integers ``lo <= x <= hi`` summing exactly to ``total``, roughly proportional to weights."""
    weights = np.asarray(weights, dtype=float)
    n = len(weights)
    low = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,)).copy()
    high = (
        np.full(n, 1 << 40, dtype=np.int64)  # "unbounded", yet safe to sum
        if hi is None
        else np.broadcast_to(np.asarray(hi, dtype=np.int64), (n,)).copy()
    )
    if (low > high).any() or not (low.sum() <= total <= high.sum()):
        raise ValueError(f"cannot allocate {total} within bounds [{low.sum()}, {high.sum()}]")
    x = low
    remaining = int(total - x.sum())
    while remaining > 0:
        room = high - x
        p = np.where(room > 0, np.maximum(weights, 0), 0.0)
        if p.sum() <= 0:
            p = (room > 0).astype(float)
        draw = np.minimum(rng.multinomial(remaining, p / p.sum()), room)
        x = x + draw
        remaining = int(total - x.sum())
    return x


def hit_weighted_total(
    values: np.ndarray,
    weights: np.ndarray,
    target: int,
    lo: int,
    hi: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Shift integer ``values`` until Σ values×weights is within min(weight) of ``target``."""
    values = values.astype(np.int64).copy()
    weights = np.asarray(weights, dtype=np.int64)
    diff = int(target - (values * weights).sum())
    shift = int(round(diff / weights.sum()))
    values = np.clip(values + shift, lo, hi)
    diff = int(target - (values * weights).sum())
    while diff != 0:
        step = 1 if diff > 0 else -1
        movable = (weights <= abs(diff)) & ((values < hi) if step > 0 else (values > lo))
        candidates = np.flatnonzero(movable)
        if len(candidates) == 0:
            break
        i = candidates[rng.integers(len(candidates))]
        values[i] += step
        diff -= step * int(weights[i])
    return values
