"""Fixtures for the metric tests: small synthetic factor grids with known answers (see synthetic.py)."""

from __future__ import annotations

import pytest

from tests.helpers.synthetic import SyntheticGrid


@pytest.fixture
def grid() -> SyntheticGrid:
    """Six factors (chance of the BetaVAE classifier 1/6), 2 * 3 * 4 * 3 * 2 * 4 = 576 images."""
    return SyntheticGrid((2, 3, 4, 3, 2, 4))


@pytest.fixture
def binary_grid() -> SyntheticGrid:
    """Five binary factors, 32 images: one-latent linear classifiers can separate every factor."""
    return SyntheticGrid((2, 2, 2, 2, 2))
