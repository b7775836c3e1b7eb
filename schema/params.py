"""Analysis parameters (docs/method.md sections 3-4), validated once at the boundary."""

from __future__ import annotations

import hashlib
from enum import IntFlag
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from neuromfa.base.limits import MAX_NULL_SAMPLES, MAX_Q_ABS, MAX_Q_POINTS, MAX_THRESHOLD
from neuromfa.schema.records import Mode

Structural = Literal["traverse", "drop"]  # structural qkv -> context edges in the path modes
Band = Literal["absolute", "relative"]
NullKind = Literal["shuffle", "gaussian"]
NullModel = Literal["none", NullKind]


class SampleFilter(IntFlag):
    """Which checks drop a sample (docs/method.md): F_POSITIVE drops a spectrum with some f_k > 0,
    ALPHA_EDGE one whose alpha peaks away from q_min. Stored and hashed as its int (0-3)."""

    NONE = 0
    F_POSITIVE = 1
    ALPHA_EDGE = 2
    BOTH = F_POSITIVE | ALPHA_EDGE


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
    filter: SampleFilter = Field(SampleFilter.NONE, description="sample filter 0 none, 1 f>0, 2 alpha edge, 3 both")
    structural: Structural = "traverse"
    band: Band = Field(
        "absolute", description="absolute: the paper's 1/T <= |w| < 1; relative: weights scaled by their block's RMS first")
    null: NullModel = Field("none", description="null model analysed beside the real graph")
    null_samples: int = Field(10, ge=2, le=MAX_NULL_SAMPLES, description="null draws per graph (with a null model)")

    @field_validator("filter", mode="before")
    @classmethod
    def _filter_code(cls, value: object) -> object:
        # an IntFlag accepts any int (-1 reads as BOTH): keep the old 0..3 bounds, and their errors
        if isinstance(value, int | float) and not value >= SampleFilter.NONE:
            raise PydanticCustomError("greater_than_equal", "Input should be greater than or equal to {ge}", {"ge": 0})
        if isinstance(value, int | float) and value > SampleFilter.BOTH:
            raise PydanticCustomError("less_than_equal", "Input should be less than or equal to {le}", {"le": 3})
        return value

    @model_validator(mode="after")
    def _grid_has_zero(self) -> AnalysisParams:
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

    def q_grid(self) -> npt.NDArray[np.float64]:
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
