"""Checks of what the commands print at a terminal, shared by the tests of the commands."""

from __future__ import annotations

from rich.cells import cell_len

BARS = "│┃"


def tables(out: str) -> list[list[str]]:
    """The tables in a command's output: runs of lines drawn with box characters."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in out.splitlines():
        if line.strip()[:1] in set("┏┃┡│└┌├╇┳"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def assert_lined_up(out: str, count: int = 1) -> None:
    """Every table's rows have their column separators at the same display columns, and
    every line of a table is as wide as its others (a Chinese character: two columns)."""
    found = tables(out)
    assert len(found) == count, out
    for lines in found:
        columns = {tuple(cell_len(line[:i]) for i, ch in enumerate(line) if ch in BARS)
                   for line in lines if any(ch in BARS for ch in line)}
        assert len(columns) == 1, "\n".join(lines)
        assert len({cell_len(line.rstrip()) for line in lines}) == 1, "\n".join(lines)
