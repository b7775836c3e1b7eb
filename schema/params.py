"""Analysis parameters (docs/method.md sections 3-4), validated once at the boundary."""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from neuromfa.base.limits import MAX_NULL_SAMPLES, MAX_Q_ABS, MAX_Q_POINTS, MAX_THRESHOLD
from neuromfa.schema.records import Mode


class AnalysisParams(BaseModel):
    """Every knob of one NeuroMFA run; defaults are the project's (docs/method.md)."""

    # inf/NaN would pass gt/le checks and then serialise to null in the job's parameters
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    mode: Mode = "shortest-path"
    threshold: float = Field(150.0, gt=1.0, le=MAX_THRESHOLD, description="T: edges with 1 < d <= T are used")
    q_min: float = Field(-3.0, ge=-MAX_Q_ABS, le=MAX_Q_ABS)
    q_max: float = Field(3.0, ge=-MAX_Q_ABS, le=MAX_Q_ABS)
    q_step: float = Field(0.1, gt=0.0)
    min_mass: int = Field(10, ge=0, description="eligible nodes have more than this many nodes within T")
    filter: int = Field(0, ge=0, le=3, description="sample filter 0 none, 1 f>0, 2 alpha edge, 3 both")
    structural: Literal["traverse", "drop"] = "traverse"
    band: Literal["absolute", "relative"] = Field(
        "absolute", description="absolute: the paper's 1/T <= |w| < 1; relative: weights scaled by their block's RMS first")
    null: Literal["none", "shuffle", "gaussian"] = Field("none", description="null model analysed beside the real graph")
    null_samples: int = Field(10, ge=2, le=MAX_NULL_SAMPLES, description="null draws per graph (with a null model)")

    @model_validator(mode="after")
    def _grid_has_zero(self) -> "AnalysisParams":
        if self.q_min >= self.q_max:
            raise ValueError(f"q_min ({self.q_min}) must be below q_max ({self.q_max})")
        points = (self.q_max - self.q_min) / self.q_step + 1  # before allocating the grid
        if points > MAX_Q_POINTS + 0.5:
            raise ValueError(
                f"q grid {self.q_min}..{self.q_max} step {self.q_step} has {points:.4g} values, "
                f"at most {MAX_Q_POINTS} are allowed; use a larger q_step"
            )
        grid = self.q_grid()
        if len(grid) < 3:
            raise ValueError("the q grid needs at least 3 values")
        if not np.any(np.isclose(grid, 0.0, atol=1e-12)):
            raise ValueError(
                f"the q grid {self.q_min}..{self.q_max} step {self.q_step} does not contain q = 0; "
                "choose q_min a multiple of q_step"
            )
        return self

    def q_grid(self) -> np.ndarray:
        """q values q_min, q_min + step, ..., q_max (rounded to kill float drift; 0 is exact)."""
        n = int(round((self.q_max - self.q_min) / self.q_step)) + 1
        return np.round(self.q_min + self.q_step * np.arange(n), 10) + 0.0

    def key(self) -> str:
        """Short stable hash of the parameters: analyses with equal parameters share it. The
        band and null fields join the hash only when set, so analyses stored before they
        existed keep their ids."""
        return hashlib.sha1(self.model_dump_json(exclude=self._unset_controls()).encode()).hexdigest()[:12]

    def _unset_controls(self) -> set[str]:
        unset = {"band"} if self.band == "absolute" else set()
        return unset | ({"null", "null_samples"} if self.null == "none" else set())

    def analysis_id(self, gid: str) -> str:
        return f"{gid}#{self.mode}-{self.key()}"
