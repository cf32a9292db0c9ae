"""pydantic models of DIALS list items (``dials-protocol.md`` §5, the ``cmsdials`` 2.4.1 shapes).

Histograms give their bin contents as numpy arrays with their binning: ``values`` (``x_bin`` for 1D,
``(y_bin, x_bin)`` for 2D, i.e. ``values[iy, ix]``) and ``x_edges``/``y_edges`` (uniform, ``n + 1`` edges).

>>> h = Histogram1D(dataset_id=1, dataset="/ZeroBias/Run2024B-PromptReco-v1/DQMIO", file_id=2, run_number=386000,
...                 ls_number=1, me_id=3, me="PixelPhase1/charge", x_min=0.0, x_max=4.0, x_bin=4, entries=10,
...                 data=[1, 2, 3, 4])
>>> h.values.tolist(), h.x_edges.tolist(), h.key
([1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 2.0, 3.0, 4.0], (1, 386000, 1, 3))
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from schemas._base import Record, UtcDatetime

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DIALS_MODELS",
    "DialsDataset",
    "DialsFile",
    "DialsLumisection",
    "DialsRow",
    "DialsRun",
    "Histogram1D",
    "Histogram2D",
    "MLBadLumisection",
    "MLModel",
    "MonitoringElement",
]


class DialsRow(Record):
    """The base of every DIALS list item: ``key``, its identity on the service."""

    KEY: ClassVar[tuple[str, ...]] = ()

    @property
    def key(self) -> tuple[Any, ...]:
        """The row's identity on the service (its default ordering)."""
        return tuple(getattr(self, name) for name in self.KEY)


class DialsDataset(DialsRow):
    KEY = ("dataset_id",)
    dataset_id: int
    dataset: str
    era: str
    data_tier: str
    primary_ds_name: str
    processed_ds_name: str
    processing_version: int
    last_modification_date: UtcDatetime


class DialsFile(DialsRow):
    KEY = ("dataset_id", "file_id")
    dataset_id: int
    dataset: str
    file_id: int
    file_size: int
    creation_date: UtcDatetime
    last_modification_date: UtcDatetime
    logical_file_name: str
    status: str
    err_trace: str | None


class DialsRun(DialsRow):
    KEY = ("dataset_id", "run_number")
    dataset_id: int
    dataset: str
    run_number: int
    ls_count: int
    ls_completeness: float | None


class DialsLumisection(DialsRow):
    KEY = ("dataset_id", "run_number", "ls_number")
    dataset_id: int
    dataset: str
    run_number: int
    ls_number: int
    th1_count: int
    th2_count: int


class Histogram1D(DialsRow):
    """A per-lumisection 1D histogram: bins 1..``x_bin`` (no under/overflow) over ``[x_min, x_max]``."""

    KEY = ("dataset_id", "run_number", "ls_number", "me_id")
    dataset_id: int
    dataset: str
    file_id: int
    run_number: int
    ls_number: int
    me_id: int
    me: str
    x_min: float
    x_max: float
    x_bin: int
    entries: int
    data: list[Any]

    @property
    def values(self) -> np.ndarray[Any, Any]:
        import numpy as np

        return np.asarray(self.data, dtype=float)

    @property
    def x_edges(self) -> np.ndarray[Any, Any]:
        import numpy as np

        return np.linspace(self.x_min, self.x_max, self.x_bin + 1)


class Histogram2D(Histogram1D):
    """A per-lumisection 2D histogram: ``values[iy, ix]`` of shape ``(y_bin, x_bin)``."""

    y_min: float
    y_max: float
    y_bin: int

    @property
    def y_edges(self) -> np.ndarray[Any, Any]:
        import numpy as np

        return np.linspace(self.y_min, self.y_max, self.y_bin + 1)


class MonitoringElement(DialsRow):
    KEY = ("me_id",)
    me_id: int
    me: str
    count: int
    dim: int


class MLModel(DialsRow):
    KEY = ("id",)
    id: int
    name: str
    revision: int
    ready: bool
    active: bool
    type: str
    anomaly_threshold: float | None
    builtin_threshold: bool
    description: str
    flagging_key: str | None
    input_signature: list[dict[str, Any]]
    metric_key: str | None
    output_signature: list[dict[str, Any]]
    tags: list[dict[str, Any]] | None
    isvc_service_name: str | None
    isvc_yaml: str | None
    created_by: str
    modified_by: str
    created_at: UtcDatetime
    modified_at: UtcDatetime


class MLBadLumisection(DialsRow):
    KEY = ("model_id", "dataset_id", "run_number", "ls_number")
    model_id: int
    dataset_id: int
    run_number: int
    ls_number: int
    metric_value: float


#: The model of each DIALS resource (canonical names of :mod:`querylang.dials_catalogue`).
DIALS_MODELS: Mapping[str, type[DialsRow]] = MappingProxyType(
    {
        "dataset-index": DialsDataset,
        "file-index": DialsFile,
        "run": DialsRun,
        "lumisection": DialsLumisection,
        "th1": Histogram1D,
        "th2": Histogram2D,
        "mes": MonitoringElement,
        "ml-models-index": MLModel,
        "ml-bad-lumisection": MLBadLumisection,
    }
)
