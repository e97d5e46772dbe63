"""What the command line shows a person: tables measured by display width (a Chinese
character takes two columns), and progress on long work while someone watches.

rich is imported when a table or a progress display is made, not with this module:
``grassroots --help`` stays quick.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from io import StringIO
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

# C0 and C1 control characters but tab and newline: in a file or a unit's name they would
# move a terminal's cursor, rewrite what it shows or set its title
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# piped or captured, a table is as wide as it needs up to this (80 would cut the names)
PIPED_WIDTH = 200
# a folded column (a name, a message) is folded no narrower than this, if its texts are
FOLDED_WIDTH = 16


def inert(text: str) -> str:
    """``text`` with its control characters written as visible escapes (``\\x1b``)."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def is_terminal(stream: object) -> bool:
    """Whether ``stream`` is attached to a terminal (a person watching it)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def console(stream: TextIO | None = None, width: int | None = None) -> Console:
    """A rich console on ``stream`` (default: standard output) that writes no styles nor
    cursor moves: what it prints is text only, the same piped as at a terminal; at a
    terminal as wide as the terminal, else ``PIPED_WIDTH``."""
    from rich.console import Console

    stream = stream if stream is not None else sys.stdout
    if width is None and not is_terminal(stream):
        width = PIPED_WIDTH
    return Console(file=stream, width=width, color_system=None, highlight=False,
                   markup=False, emoji=False, soft_wrap=False)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *,
          title: str | None = None, right: Collection[int] = (),
          fold: Collection[int] = ()) -> Table:
    """A table of ``rows`` under ``headers`` (each "中文 / English"), the columns whose
    indexes are in ``right`` (numbers) right-aligned. Cells are shown as given (None as
    empty), their control characters as escapes, never read as markup. When the table is
    wider than the screen, only the ``fold`` columns (names, messages) are folded onto
    more lines: a code, a date or a number is never wrapped nor cut short."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    cells = [[Text(inert("" if cell is None else str(cell))) for cell in row] for row in rows]
    shown = Table(title=Text(inert(title)) if title else None, title_justify="left")
    for i, header in enumerate(headers):
        justify = "right" if i in right else "left"
        widest = max((cell_len(row[i].plain) for row in cells if i < len(row)), default=0)
        if i in fold:
            # folded only past eight Chinese characters: a short name stays on its line
            shown.add_column(Text(inert(header)), justify=justify, overflow="fold",
                             min_width=min(widest, FOLDED_WIDTH))
        else:
            shown.add_column(Text(inert(header)), justify=justify, no_wrap=True,
                             min_width=widest)
    for row in cells:
        shown.add_row(*row)
    return shown


def print_table(shown: Table, stream: TextIO | None = None) -> None:
    """Print a table made by ``table`` on ``stream`` (default: standard output)."""
    # too wide even so (codes and numbers are never wrapped): the lines run on, not cut
    console(stream).print(shown, crop=False)


def render(shown: Table, width: int | None = None) -> list[str]:
    """A table's lines as text, at most ``width`` columns wide (default ``PIPED_WIDTH``)."""
    out = StringIO()
    console(out, width or PIPED_WIDTH).print(shown, crop=False)
    return out.getvalue().rstrip("\n").split("\n")


class Progress:
    """Progress of a long command, told by the pipeline: a stage starts (``stage``) and,
    where it counts its work, how far it is (``advance``). This one shows nothing; see
    ``progress_display`` for the one shown at a terminal."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage begins: ``name`` as a person reads it, ``total`` the steps if known."""

    def advance(self, done: int, total: int | None = None) -> None:
        """``done`` steps of the current stage are done (of ``total``, when known)."""


class _RichProgress(Progress):
    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._task: Any = None

    def stage(self, name: str, total: int | None = None) -> None:
        self.finish()
        self._task = self._progress.add_task(inert(name), total=total)

    def advance(self, done: int, total: int | None = None) -> None:
        if self._task is None:
            self.stage("")
        if total is not None:
            self._progress.update(self._task, total=total)
        self._progress.update(self._task, completed=done)

    def finish(self) -> None:
        """The current stage is done: its bar full (a stage that counted nothing, 1 of 1)."""
        if self._task is None:
            return
        task = self._progress.tasks[-1]
        total = task.total if task.total is not None else max(task.completed, 1)
        self._progress.update(self._task, total=total, completed=total)
        self._progress.stop_task(self._task)
        self._task = None


@contextmanager
def progress_display(stream: TextIO | None = None) -> Iterator[Progress | None]:
    """A progress display on ``stream`` (default: standard error) while the block runs, if
    the stream is a terminal; else None (nothing shown beyond the usual log lines: a log
    file or a pipe gets no bars redrawn into it)."""
    stream = stream if stream is not None else sys.stderr
    if not is_terminal(stream):
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as RichProgress

    # the bars redraw the terminal: written to the stream itself, not through a filter
    # that would show their cursor moves as escapes
    raw = getattr(stream, "unfiltered", stream)
    shown = RichProgress(SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
                         MofNCompleteColumn(), TimeElapsedColumn(),
                         console=Console(file=raw, highlight=False, markup=False),
                         transient=False)
    with shown:
        told = _RichProgress(shown)
        yield told
        told.finish()
