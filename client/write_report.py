"""What a write did, run by run: :class:`WriteReport`, a sequence of :class:`WriteOutcome` (plain data).

Its own module so that :class:`client.errors.WriteError` can carry a report without importing the writes.

>>> report = WriteReport("move runs", (WriteOutcome(315000, "done"), WriteOutcome(315001, "failed", "run is OPEN")))
>>> report.done, report.failed, report.ok
([315000], [315001], False)
>>> report.summary()
'move runs: 1 done, 1 failed, 0 skipped; run 315001: run is OPEN'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

__all__ = ["APPLIED_DESPITE_ERROR", "NOT_APPLIED", "Status", "WriteOutcome", "WriteReport"]

#: What happened to one run: changed, refused, not attempted, or (dry run) what would be sent.
Status = Literal["done", "failed", "skipped", "planned"]
#: Message prefixes of a write whose answer was an error: read back, it was applied, or it was not.
APPLIED_DESPITE_ERROR = "applied, the service reported an error afterwards"
NOT_APPLIED = "not applied"


@dataclass(frozen=True)
class WriteOutcome:
    """What happened to one run: ``status``, the service's message on failure, its answer on success."""

    run_number: int
    status: Status
    message: str = ""
    response: Any = None


@dataclass(frozen=True)
class WriteReport(Sequence[WriteOutcome]):
    """Per-run outcomes of a write, in the order they were applied (a sequence of :class:`WriteOutcome`)."""

    action: str
    outcomes: tuple[WriteOutcome, ...]
    dry_run: bool = False

    @overload
    def __getitem__(self, index: int) -> WriteOutcome: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[WriteOutcome]: ...
    def __getitem__(self, index: int | slice) -> WriteOutcome | Sequence[WriteOutcome]:
        return self.outcomes[index]

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[WriteOutcome]:
        return iter(self.outcomes)

    def _runs(self, status: Status) -> list[int]:
        return [o.run_number for o in self.outcomes if o.status == status]

    @property
    def done(self) -> list[int]:
        """Runs the service changed (including those it changed before answering an error)."""
        return self._runs("done")

    @property
    def failed(self) -> list[int]:
        return self._runs("failed")

    @property
    def skipped(self) -> list[int]:
        """Runs not sent: an earlier one failed (``stop_on_error=True``), or their state did not allow it."""
        return self._runs("skipped")

    @property
    def planned(self) -> list[int]:
        return self._runs("planned")

    @property
    def applied_despite_error(self) -> list[int]:
        """Runs the service changed although it answered an error (read back to find out)."""
        return [
            o.run_number for o in self.outcomes if o.status == "done" and o.message.startswith(APPLIED_DESPITE_ERROR)
        ]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def responses(self) -> list[Any]:
        """The service's answers for the runs that were changed (what the public client returns)."""
        return [o.response for o in self.outcomes if o.status == "done"]

    def summary(self) -> str:
        """One line: counts per status, and each failure or skip with its message."""
        parts = [f"{self.action}: {len(self.done)} done, {len(self.failed)} failed, {len(self.skipped)} skipped"]
        if self.dry_run:
            parts = [f"{self.action} (dry run): {len(self.planned)} planned"]
        parts += [f"run {o.run_number}: {o.message}" for o in self.outcomes if o.status != "done" and o.message]
        return "; ".join(parts)
