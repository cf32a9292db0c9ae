"""Where a built registry is cached on disk, so the default registry is generated once per machine.

A cache file is a SQLite copy of a freshly built store. Its name carries everything the content depends on: a
fingerprint of the generator's source code (so any change to the generator, the eras, the status ranges, the
store's schema or the catalogue makes a new file), ``runs``, ``seed`` and ``years``. A later start with the same
key copies the file into memory instead of generating (identical rows: the same checksum). Files another
version of the generator wrote more than a day ago are deleted when a new one is written. Registries smaller
than :data:`CACHE_MIN_RUNS` runs are not cached: generating them is as fast as copying.

The directory is ``$RUNQL_CACHE_DIR``, else ``$XDG_CACHE_HOME/runql``, else ``~/.cache/runql``; setting
``RUNQL_CACHE_DIR`` to the empty string turns the cache off.

>>> cache_file(Path("/tmp/c"), runs=None, seed=2018, years=None).name.startswith("registry-")
True
>>> cache_dir({"RUNQL_CACHE_DIR": ""}) is None
True
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import time
from collections.abc import Collection, Mapping
from pathlib import Path

__all__ = ["CACHE_MIN_RUNS", "cache_dir", "cache_file", "fingerprint", "prune"]

#: Registries with fewer runs are generated every time.
CACHE_MIN_RUNS = 2000
_STALE_SECONDS = 24 * 3600.0
_SOURCES = (
    "backend.demo",
    "backend.eras",
    "backend.lumiranges",
    "backend.rows",
    "backend.store",
    "querylang.catalogue",
)


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The cache directory named by the environment, or ``None`` when the cache is off."""
    if "RUNQL_CACHE_DIR" in environ:
        chosen = environ["RUNQL_CACHE_DIR"]
        return Path(chosen).expanduser() if chosen else None
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runql"


@functools.cache
def fingerprint() -> str:
    """A digest of the source of every module the generated data depends on (read once per process, near import)."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"cannot locate the source of {name}")
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()[:16]


def cache_file(directory: Path, *, runs: int | None, seed: int, years: Collection[int] | None) -> Path:
    """The cache file of one registry in ``directory``."""
    size = "default" if runs is None else str(runs)
    span = "all" if years is None else "-".join(str(y) for y in sorted(set(years)))
    return directory / f"registry-{fingerprint()}-runs{size}-seed{seed}-years{span}.sqlite3"


def prune(directory: Path, *, older_than: float = _STALE_SECONDS) -> list[Path]:
    """Delete the cache files another version of the generator wrote more than ``older_than`` seconds ago.

    Recent ones are kept: another installation may be using them. Returns what was deleted.
    """
    current = f"registry-{fingerprint()}-"
    limit = time.time() - older_than
    stale = [
        p for p in directory.glob("registry-*.sqlite3") if not p.name.startswith(current) and p.stat().st_mtime < limit
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
