"""``DialsRecords``: the list a DIALS listing returns, with ``resume_from`` and ``to_pandas()``.

Histograms become one row per histogram with the bin contents as a numpy array in the ``data`` column (1D:
shape ``(x_bin,)``; 2D: ``(y_bin, x_bin)``), or with ``long=True`` one row per bin: ``x_low``/``x_high`` (and
``y_low``/``y_high``) with its ``value``.

>>> from schemas.dials import Histogram1D
>>> h = Histogram1D(dataset_id=1, dataset="d", file_id=2, run_number=3, ls_number=4, me_id=5, me="m",
...                 x_min=0, x_max=2, x_bin=2, entries=3, data=[1, 2])
>>> rows = DialsRecords([h], resource="th1")
>>> rows.to_pandas()["data"][0].tolist(), rows.to_pandas(long=True)[["x_low", "x_high", "value"]].values.tolist()
([1.0, 2.0], [[0.0, 1.0, 1.0], [1.0, 2.0, 2.0]])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from client.dials.listing import DialsResume
from client.results import Records
from schemas.dials import DialsRow

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DialsRecords", "histograms_long"]

M = TypeVar("M", bound=DialsRow)
_KEYS = ("dataset_id", "dataset", "run_number", "ls_number", "me_id", "me")


class DialsRecords(Records[M]):
    """Records of one DIALS resource; ``resume_from`` continues a listing stopped by ``max_pages``."""

    def __init__(
        self, rows: Iterable[M] = (), *, resource: str, resume_from: DialsResume | None = None, synthetic: bool = False
    ) -> None:
        super().__init__(rows, kind=f"dials:{resource}", synthetic=synthetic)
        self.resource = resource
        self.resume_from = resume_from

    @property
    def complete(self) -> bool:
        """False when ``max_pages`` stopped the listing before its end."""
        return self.resume_from is None

    def to_pandas(self, *, long: bool = False) -> pd.DataFrame:
        """One row per record (histogram data as numpy arrays), or one row per bin with ``long=True``."""
        import pandas as pd

        if long:
            return histograms_long(self)
        frame: pd.DataFrame = pd.DataFrame([row.model_dump() for row in self])
        if "data" in frame:
            frame["data"] = [row.values for row in self]  # type: ignore[attr-defined]
        return frame


def histograms_long(histograms: Iterable[Any]) -> pd.DataFrame:
    """One row per bin: the histogram's key columns, bin indices and edges, and the bin ``value``."""
    import numpy as np
    import pandas as pd

    parts = []
    for h in histograms:
        values = h.values
        x = np.tile(np.arange(h.x_bin), values.size // h.x_bin)
        part = {k: np.repeat(getattr(h, k), values.size) for k in _KEYS}
        part |= {"x_bin": x, "x_low": h.x_edges[x], "x_high": h.x_edges[x + 1]}
        if values.ndim == 2:
            y = np.repeat(np.arange(h.y_bin), h.x_bin)
            part |= {"y_bin": y, "y_low": h.y_edges[y], "y_high": h.y_edges[y + 1]}
        part["value"] = values.ravel()
        parts.append(pd.DataFrame(part))
    frame: pd.DataFrame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*_KEYS, "value"])
    return frame
