"""Build the rows of a large registry in worker processes, so a first build uses every core.

The workers are plain subprocesses (``python -m backend.parallel_build``), so the caller's own script is never
imported again, whatever it does at top level. The parent plans the runs, gives each worker every n-th chunk of
them through its stdin, and inserts the rows each worker writes back to its stdout as they arrive. The rows do not
depend on which process builds them (each run has its own random stream; dataset ids derive from run numbers),
so the store equals a serial build's (tested by checksum).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Generator, Sequence
from pathlib import Path

from backend.demo import RunSlot, build_runs
from backend.rows import RunRows

__all__ = ["CHUNK_RUNS", "build_rows"]

#: Runs per chunk a worker builds and sends back at once.
CHUNK_RUNS = 500


def build_rows(slots: Sequence[RunSlot], seed: int, workers: int) -> Generator[RunRows, None, None]:
    """The rows of ``slots``, built by ``workers`` subprocesses, chunk by chunk in plan order."""
    chunks = [list(slots[i : i + CHUNK_RUNS]) for i in range(0, len(slots), CHUNK_RUNS)]
    workers = max(1, min(workers, len(chunks)))
    root = str(Path(__file__).resolve().parents[1])  # where ``backend`` is importable from
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    command = [sys.executable, "-m", "backend.parallel_build"]
    # Each worker in its own session: a Ctrl-C at the terminal reaches only the parent, which stops the workers in
    # ``finally`` (else each would print its own KeyboardInterrupt traceback). Started inside ``try``, so a signal
    # between two starts still stops the first.
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(workers):
            processes.append(
                subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True
                )
            )
        for index, process in enumerate(processes):
            assert process.stdin is not None
            with process.stdin:
                pickle.dump((seed, chunks[index::workers]), process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        for index in range(len(chunks)):
            stdout = processes[index % workers].stdout
            assert stdout is not None
            rows = pickle.load(stdout)  # our own child's output
            if not isinstance(rows, RunRows):
                raise RuntimeError(f"a registry worker sent {type(rows).__name__}, not rows")
            yield rows
        for process in processes:
            if process.wait() != 0:
                raise RuntimeError(f"a registry worker exited with status {process.returncode}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _work() -> int:
    """A worker: read ``(seed, chunks)`` from stdin, write one pickled :class:`RunRows` per chunk to stdout.

    A parent that stops early (Ctrl-C, an error) leaves a short input or a closed output behind: the worker then
    exits with status 1 and says nothing (the parent reports what happened), instead of a traceback.
    """
    try:
        seed, chunks = pickle.load(sys.stdin.buffer)
        for chunk in chunks:
            pickle.dump(RunRows.of(build_runs(chunk, seed)), sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
            sys.stdout.buffer.flush()
    except (EOFError, pickle.UnpicklingError, BrokenPipeError):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_work())
