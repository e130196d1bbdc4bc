"""Datasets with known generative factors.

- :mod:`~betavae.data.ground_truth`: the interface every dataset exposes and the one grid index
  (`grid_strides`, `grid_index`, `grid_classes`); :mod:`~betavae.data.protocols`: what functions ask of a dataset.
- :mod:`~betavae.data.dsprites` (procedural dSprites), :mod:`~tests.helpers.block_grid` (a tiny grid for tests).
- :mod:`~betavae.data.storage`: the on-disk layout, its writer, reader and pixel statistics.
- :mod:`~betavae.data.importers`: readers of the official formats only; :mod:`~betavae.data.acquire`
  (one `data.datasets` entry to disk), :mod:`~betavae.data.download`, :mod:`~betavae.data.validation`
  (Great Expectations), :mod:`~betavae.data.dataset_iou` (two stored copies image by image).
"""

from betavae.data.ground_truth import FactorGrid, GroundTruthData
from betavae.data.storage import (
    PackedImages,
    StoredDataset,
    load_dataset,
    write_dataset,
)

__all__ = ["FactorGrid", "GroundTruthData", "PackedImages", "StoredDataset", "load_dataset", "write_dataset"]
