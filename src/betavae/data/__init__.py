"""Datasets with known generative factors: the shared interface, storage on disk, and validation."""

from betavae.data.ground_truth import FactorGrid, GroundTruthData
from betavae.data.storage import (
    PackedImages,
    StoredDataset,
    load_dataset,
    write_dataset,
)

__all__ = ["FactorGrid", "GroundTruthData", "PackedImages", "StoredDataset", "load_dataset", "write_dataset"]
