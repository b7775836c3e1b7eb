"""Result models of the engine (pydantic; SpectrumResult and the emergence models are JSON-safe)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from neuromfa.schema.params import NullKind
from neuromfa.schema.records import Mode


class SpectrumResult(BaseModel):
    """The multifractal spectrum of one SNIN (docs/method.md section 3).

    alpha[k] and f[k] belong to q[k] (forward differences, k = 0 .. len(q) - 2).
    r2[k] is the coefficient of determination of the tau(q[k]) fit (1.0 where ln Z_q is flat,
    e.g. q = 0, whose fit is exact).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode
    threshold: float
    q: list[float]
    tau: list[float]
    r2: list[float]
    alpha: list[float]
    f: list[float]
    alpha0: float
    width: float
    radii: list[int]
    nodes_used: int = Field(description="eligible nodes (more than min_mass nodes within T)")
    edges_used: int = Field(description="edges the mode traverses: band edges, plus structural ones when traversed")
    passed_filter: bool


class NullSummary(BaseModel):
    """A null model's draws beside the real graph: mean and std (ddof 1) of alpha_0 and width
    over the draws, and z = (real - null mean) / null std (None where the null std is 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: NullKind
    samples: int
    alpha0: list[float] = Field(description="alpha_0 of each draw, in draw order")
    width: list[float] = Field(description="width of each draw, in draw order")
    alpha0_mean: float
    alpha0_std: float
    width_mean: float
    width_std: float
    alpha0_z: float | None
    width_z: float | None


class EngineOutput(BaseModel):
    """Everything one ``analyze_snin`` call produces. Node arrays are indexed by SNIN position."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    spectrum: SpectrumResult
    eligible: np.ndarray  # bool
    mass_T: np.ndarray  # int64, N_i(T) = 1 + nodes within T
    nfd: np.ndarray  # float64, NaN where no value (ineligible, or fewer than 2 own radii)
    seconds_compute: float
    device: str = "cpu"
    null: NullSummary | None = None

    def nfd_or_none(self) -> list[float | None]:
        """NFD as a list with None for missing values (what the database stores as null)."""
        return [None if np.isnan(v) else float(v) for v in self.nfd]


class SampleValue(BaseModel):
    """One analysed sample of one checkpoint (input row of ``summarize_checkpoints``)."""

    model_config = ConfigDict(extra="ignore")

    step: int
    sample: int = 0
    alpha0: float | None
    width: float | None
    passed_filter: bool = True
    # the null model's means over its draws and the z-scores (None without a null model)
    null_alpha0_mean: float | None = None
    null_width_mean: float | None = None
    alpha0_z: float | None = None
    width_z: float | None = None


class CheckpointSummary(BaseModel):
    """Mean and std (ddof = 0) of alpha_0 and width over a checkpoint's surviving samples."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int
    n_samples: int
    alpha0_mean: float | None
    alpha0_std: float | None
    width_mean: float | None
    width_std: float | None
    samples: dict[int, tuple[float, float]] = Field(default_factory=dict, description="sample -> (alpha0, width) of the survivors")
    alpha0_null: float | None = Field(None, description="mean over the survivors of their null mean alpha_0")
    width_null: float | None = Field(None, description="mean over the survivors of their null mean width")
    alpha0_z: float | None = Field(None, description="mean over the survivors of their alpha_0 z-score")
    width_z: float | None = Field(None, description="mean over the survivors of their width z-score")


class EmergencePoint(BaseModel):
    """Degree of emergence at one step relative to the reference step.

    E uses the checkpoint means: E = (w_mean(t) / w_mean(t0)) ln(alpha0_mean(t0) / alpha0_mean(t)).
    E_mean / E_std: mean and std (ddof = 0) of the per-sample E over the samples that survive
    at both t and t0 (same seed = same neurons); None where no sample lines up.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: int
    alpha0_mean: float
    width_mean: float
    E: float
    E_mean: float | None = None
    E_std: float | None = None
    n_paired: int = 0
    E_null: float | None = Field(None, description="E computed from the null means (alpha0_null, width_null)")
    E_struct: float | None = Field(None, description="E - E_null: the part of E the null model does not explain")
