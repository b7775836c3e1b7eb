"""AnalysisParams' sample filter is an IntFlag that is stored and hashed as its int code."""

import numpy as np
import pytest
from pydantic import ValidationError

from neuromfa.analysis.spectrum import passes_filter
from neuromfa.schema.params import AnalysisParams, SampleFilter


def test_analysis_ids_do_not_change():
    # ids of stored analyses hash model_dump_json: the flag must serialise as the old int
    assert AnalysisParams().key() == "d390ec64f132"
    assert AnalysisParams(filter=SampleFilter.BOTH).key() == AnalysisParams(filter=3).key() == "936bad17e291"
    assert '"filter":2' in AnalysisParams(filter=SampleFilter.ALPHA_EDGE).model_dump_json()


def test_filter_codes_round_trip_as_flags():
    assert AnalysisParams(filter=3).filter is SampleFilter.BOTH
    assert SampleFilter.BOTH == SampleFilter.F_POSITIVE | SampleFilter.ALPHA_EDGE == 3
    params = AnalysisParams(filter=1)
    assert AnalysisParams.model_validate_json(params.model_dump_json()).filter is SampleFilter.F_POSITIVE


@pytest.mark.parametrize("bad", [-1, 4, 9, 2.5, "x"])
def test_filter_codes_outside_0_to_3_are_refused(bad):
    # an IntFlag alone would read -1 as BOTH and keep 9 as F_POSITIVE|8
    with pytest.raises(ValidationError, match="filter"):
        AnalysisParams(filter=bad)


def test_passes_filter_takes_flags_and_codes():
    alpha, f_bad = np.array([1.0, 1.4, 1.2]), np.array([-0.1, 0.5, -0.2])
    assert passes_filter(SampleFilter.NONE, alpha, f_bad) and passes_filter(0, alpha, f_bad)
    assert not passes_filter(SampleFilter.F_POSITIVE, alpha, f_bad) and not passes_filter(1, alpha, f_bad)
    assert not passes_filter(SampleFilter.ALPHA_EDGE, alpha, -abs(f_bad))
    assert passes_filter(SampleFilter.F_POSITIVE, alpha, -abs(f_bad))
