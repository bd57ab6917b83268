"""lib.checks: every check returns the validated value and names the argument it rejects."""

import numpy as np
import pytest
import torch

from lib import checks


def test_integer_and_real():
    assert checks.integer(np.int64(3), "n", minimum=1) == 3
    for bad in (True, 2.5, "3", torch.tensor(3)):
        with pytest.raises(ValueError, match="^n must be an integer"):
            checks.integer(bad, "n")
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 5\], got 6"):
        checks.integer(6, "n", minimum=1, maximum=5)
    assert checks.real(0.5, "p", low=0, high=1) == 0.5
    for bad in (float("nan"), float("inf"), 0.0, True, "x"):
        with pytest.raises(ValueError, match="^tau must be"):
            checks.real(bad, "tau", low=0.0, low_open=True)
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        checks.real(1.0, "p", low=0, high=1, high_open=True)


def test_tensor_checks():
    x = torch.zeros(2, 3)
    assert checks.finite(x, "x") is x
    with pytest.raises(ValueError, match="x must be a torch.Tensor"):
        checks.tensor([1.0], "x")
    with pytest.raises(ValueError, match="x must be 3-D"):
        checks.tensor(x, "x", ndim=3)
    with pytest.raises(ValueError, match="x must be a floating-point"):
        checks.floating(x.long(), "x")
    with pytest.raises(ValueError, match="x contains NaN"):
        checks.no_nan(torch.tensor([0.0, float("nan")]), "x")
    checks.no_nan(torch.tensor([0.0, float("-inf")]), "x")  # -inf allowed there
    with pytest.raises(ValueError, match="q must be finite"):
        checks.finite(torch.tensor([0.0, float("inf")]), "q")


def test_probability_and_shapes():
    p = torch.tensor([[0.25, 0.75], [0.5, 0.5]], dtype=torch.float64)
    assert checks.probability(p, "p") is p
    with pytest.raises(ValueError, match="p must sum to 1 along dim=-1"):
        checks.probability(p * 1.01, "p")
    with pytest.raises(ValueError, match="p must be non-negative"):
        checks.probability(torch.tensor([1.5, -0.5]), "p")
    with pytest.raises(ValueError, match=r"targets must have the shape of logits \(2, 2\), got \(2,\)"):
        checks.same_shape(p, torch.zeros(2), "logits", "targets")


def test_masks_indices_labels():
    logits = torch.zeros(2, 3)
    m = checks.bool_mask(torch.tensor([1, 0, 1]), logits.shape)
    assert m.dtype == torch.bool and m.shape == (2, 3)
    assert checks.bool_mask(None, logits.shape) is None
    with pytest.raises(ValueError, match="mask must be boolean"):
        checks.bool_mask(torch.tensor([2, 0, 1]), logits.shape)
    with pytest.raises(ValueError, match="mask of shape"):
        checks.bool_mask(torch.ones(4, dtype=torch.bool), logits.shape)
    assert checks.class_index(torch.tensor([0, 2], dtype=torch.int32), logits).dtype == torch.int64
    with pytest.raises(ValueError, match=r"target values must lie in \[0, 2\]"):
        checks.class_index(torch.tensor([0, 3]), logits)
    for bad in (torch.tensor([0.0, 1.0]), torch.tensor([True, False]), [0, 1]):
        with pytest.raises(ValueError, match="target must be an integer"):
            checks.class_index(bad, logits)
    with pytest.raises(ValueError, match="target must have shape"):
        checks.class_index(torch.tensor([0]), logits)
    with pytest.raises(ValueError, match="target must contain only 0 and 1"):
        checks.binary_labels(torch.full((2, 3), 2.0), logits)


def test_choice_generator_arrays():
    assert checks.choice("sum", "reduction", checks.REDUCTIONS) == "sum"
    with pytest.raises(ValueError, match="reduction must be one of"):
        checks.reduction("avg")
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        checks.generator(np.random.RandomState(0))
    assert checks.float64_array(torch.ones(2, dtype=torch.float32), "a").dtype == np.float64
    with pytest.raises(ValueError, match="a must be finite"):
        checks.float64_array([1.0, np.nan], "a")
    with pytest.raises(ValueError, match="a must be a real array"):
        checks.float64_array(["x"], "a")


def test_reduce_and_work_dtype():
    loss = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32)
    assert checks.reduce(loss, "none") is loss
    assert checks.reduce(loss, "sum", torch.float16).dtype == torch.float16
    assert float(checks.reduce(loss, "mean")) == 2.0
    with pytest.raises(ValueError, match="empty batch"):
        checks.reduce(torch.zeros(0), "mean")
    assert checks.work_dtype(torch.bfloat16) == torch.float32
    assert checks.work_dtype(torch.float16) == torch.float32
    assert checks.work_dtype(torch.float64) == torch.float64
