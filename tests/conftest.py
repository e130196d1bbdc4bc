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


# Run in parallel (`make test` uses pytest-xdist), the end-to-end files that use the session's project
# (built once by one `dvc repro`) stay together on one worker, and start first, as they take the longest.
# A file that builds its own project is a unit of its own, so another worker can take it.
END_TO_END = "tests/pipeline/"
OWN_PROJECT = ("tests/pipeline/test_factorless_dataset.py", "tests/pipeline/test_paper_configs.py")
LONG_FIRST = (END_TO_END, "tests/integration/")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class EndToEndTogether(LoadScopeScheduling):
        """Each test is a unit of its own, except the end-to-end files sharing the session's project, which
        are one unit, and each file that builds its own project, one unit per file."""

        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(OWN_PROJECT):
                return nodeid.split("::", 1)[0]
            return END_TO_END if nodeid.startswith(END_TO_END) else nodeid

    return EndToEndTogether(config, log)


def pytest_collection_modifyitems(config, items) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: hand out the longest units first
        items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))
