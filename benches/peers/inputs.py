"""The peers' inputs, drawn once with numpy and handed to JAX and PyTorch alike.

numpy's seeded PCG64 generator, not the ChaCha generator of the crate: the
draws differ from scoretape's, the shapes and distributions do not, and
timing depends only on those. Both peers see bit-identical inputs.
"""
import numpy as np

from spec import DATA_SEED, PARAM_SEED, ROSENBROCK_N, TRAIN_ROWS

PARAM_NAMES = ["W1", "b1", "W2", "b2", "w3", "b3"]


def initial_params(d, h):
    """mlp-ebm(d, h) parameters: weights ~ N(0, 1/fan_in), biases 0."""
    rng = np.random.default_rng(PARAM_SEED)
    return {
        "W1": rng.standard_normal((h, d)) / np.sqrt(d),
        "b1": np.zeros(h),
        "W2": rng.standard_normal((h, h)) / np.sqrt(h),
        "b2": np.zeros(h),
        "w3": rng.standard_normal(h) / np.sqrt(h),
        "b3": np.zeros(()),
    }


def batch(d, rows):
    """One batch: points x, directions v and noise eps ~ N(0, I); bits ~ Bernoulli(1/2)."""
    rng = np.random.default_rng(DATA_SEED)
    return {
        "x": rng.standard_normal((rows, d)),
        "v": rng.standard_normal((rows, d)),
        "eps": rng.standard_normal((rows, d)),
        "bits": rng.integers(0, 2, size=(rows, d)).astype(np.float64),
    }


def training_set(d, binary):
    """TRAIN_ROWS rows: N(0, I) points, or Bernoulli(1/2) bits as 0.0/1.0."""
    rng = np.random.default_rng(DATA_SEED)
    if binary:
        return rng.integers(0, 2, size=(TRAIN_ROWS, d)).astype(np.float64)
    return rng.standard_normal((TRAIN_ROWS, d))


def rosenbrock_point():
    """x = (-1.2, 1, -1.2, 1, ...), the classic start, and a fixed direction v ~ N(0, I)."""
    x = np.where(np.arange(ROSENBROCK_N) % 2 == 0, -1.2, 1.0)
    v = np.random.default_rng(DATA_SEED).standard_normal(ROSENBROCK_N)
    return x, v
