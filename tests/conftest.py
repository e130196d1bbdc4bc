"""Shared fixtures and test-wide settings (one thread, no analytics). Helpers live in `tests/helpers/`."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TQDM_DISABLE", "1")
# The test models are tiny: one thread avoids oversubscribing a busy 2-core machine, and subprocesses
# (the SIGKILL resume test) inherit the setting.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)

from tests.helpers.runs import InMemoryImages, random_binary_images  # noqa: E402


@pytest.fixture
def tiny_images() -> InMemoryImages:
    return InMemoryImages(random_binary_images(128, 28))
