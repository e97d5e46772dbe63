"""SQLite without its memory statistics, as SQLite itself recommends for speed.

By default SQLite counts every allocation it makes (``SQLITE_CONFIG_MEMSTATUS``) under
one mutex that every connection of the process shares. The rollup runs two statements
at once on two connections, each calling ``round()`` (which formats and allocates)
millions of times: the threads queue on that mutex, and the pair takes longer than
running them one after the other. A single connection is faster without them too.
SQLite's documentation lists ``SQLITE_DEFAULT_MEMSTATUS=0`` among its
recommended compile-time options; Python's ``sqlite3`` module uses the system's
library, built with the default, so the setting is made at run time through
``sqlite3_config``, which works only while SQLite is shut down.

Imports nothing heavy: intake's worker processes use it (see ``reading.spool_rows``).
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading

log = logging.getLogger(__name__)

SQLITE_OK = 0
SQLITE_CONFIG_MEMSTATUS = 9

_lock = threading.Lock()
_done = False


def without_memory_statistics() -> bool:
    """Turn SQLite's memory statistics off for this process, once; whether they are off.

    Only while SQLite holds no memory at all, i.e. no connection is open anywhere in the
    process: ``sqlite3_shutdown`` is then safe. A process that has connections open
    keeps the statistics (everything works as before, only slower). The calls hold the
    GIL (``PyDLL``), so no other Python thread opens a connection meanwhile. Linux
    only: ``sqlite3_config`` takes variadic arguments, passed like fixed ones there."""
    global _done
    with _lock:
        if _done:
            return True
        if not sys.platform.startswith("linux"):
            return False
        try:
            import _sqlite3

            library = ctypes.PyDLL(_sqlite3.__file__)  # finds the library it links to
            library.sqlite3_memory_used.restype = ctypes.c_int64
            # a connection of our own shows whether the statistics count at all (a build
            # without them reports 0 whatever is open: then there is nothing to do)
            probe = ctypes.c_void_p()
            if library.sqlite3_open(b":memory:", ctypes.byref(probe)) != SQLITE_OK:
                return False
            counted = library.sqlite3_memory_used()
            library.sqlite3_close(probe)
            if counted == 0:
                _done = True
                return True
            if library.sqlite3_memory_used() != 0:
                log.debug("SQLite memory statistics stay on: connections are open")
                return False
            if library.sqlite3_shutdown() != SQLITE_OK:
                return False
            configured = library.sqlite3_config(SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0))
            if library.sqlite3_initialize() != SQLITE_OK:
                raise RuntimeError("SQLite did not initialise again after its shutdown")
        except (OSError, AttributeError, ImportError) as exc:
            log.debug("SQLite memory statistics stay on: %s", exc)
            return False
        _done = configured == SQLITE_OK
        return _done
