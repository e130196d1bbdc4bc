import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run each test on one intra-op thread: on a small shared CPU, two spinning OpenMP threads per process
    make these small models many times slower, not faster. The previous setting is restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
