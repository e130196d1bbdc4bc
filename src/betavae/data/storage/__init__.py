"""Datasets on disk: the layout (file names, manifest, bit-packed images), its atomic writer, its reader
and the pixel statistics recorded in the manifest."""

from betavae.data.storage.layout import (
    FACTORS_FILE,
    FORMAT_VERSION,
    IMAGES_FILE,
    MANIFEST_FILE,
    SPLIT_FILE,
    PackedImages,
    dataset_digest,
    images_digest,
    read_manifest,
    verify_files,
)
from betavae.data.storage.reader import (
    StoredDataset,
    load_dataset,
    read_factor_table,
    read_images,
    read_test_rows,
)
from betavae.data.storage.stats import foreground_fractions
from betavae.data.storage.writer import write_dataset

__all__ = [
    "FACTORS_FILE",
    "FORMAT_VERSION",
    "IMAGES_FILE",
    "MANIFEST_FILE",
    "SPLIT_FILE",
    "PackedImages",
    "StoredDataset",
    "dataset_digest",
    "foreground_fractions",
    "images_digest",
    "load_dataset",
    "read_factor_table",
    "read_images",
    "read_manifest",
    "read_test_rows",
    "verify_files",
    "write_dataset",
]
