"""Import aligned CelebA (Liu et al. 2015) as 64 x 64 RGB, the resolution of Higgins et al. 2017, Sec. 4.

The source is the official ``img_align_celeba.zip`` (202599 JPEGs of 178 x 218 px) or a directory of
those images. Each image is centre-cropped to a square of side ``crop`` and resized to ``size`` with
a Lanczos filter. CelebA has no ground-truth factors: the dataset is stored without any.

The official split (``list_eval_partition.txt``) cuts the numbered files into consecutive ranges:
000001-162770 train, 162771-182637 validation, 182638-202599 test. With ``split="official"`` the images of
the test range are the test split (the validation range trains, as this project has no model selection
on a validation set); ``split="all"`` holds none out here (the caller draws a seeded fraction).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from betavae.data.importers.base import ImportedData
from betavae.errors import ConfigError, DataError

if TYPE_CHECKING:
    import PIL.Image

__all__ = ["DEFAULT_CROP", "FILENAME", "OFFICIAL_MD5", "OFFICIAL_URL", "preprocess", "read_celeba"]

FILENAME = "img_align_celeba.zip"
# Google Drive may answer with a confirmation page for files this large; fetch() rejects HTML pages
# with a message that says to download the file by hand and use ``source: path``.
OFFICIAL_URL = "https://docs.google.com/uc?export=download&id=0B7EVK8r0v71pZjFTYXZWM3FlRnM"
OFFICIAL_MD5 = "00d2c5bc6d35e252742224ab0c1e8fcb"
#: Number of the first image of the official test partition (list_eval_partition.txt, partition 2).
TEST_FIRST = 182638
SPLITS = ("official", "all")
#: Side of the centre square kept from each 178 x 218 aligned image before resizing.
DEFAULT_CROP = 140
DEFAULT_SIZE = 64
_SUFFIXES = (".jpg", ".jpeg", ".png")


def preprocess(image: PIL.Image.Image, *, crop: int, size: int, name: str = "image") -> np.ndarray:
    """Centre-crop ``image`` to ``crop`` x ``crop`` and resize to ``size`` x ``size``; uint8 (size, size, 3)."""
    from PIL import Image

    width, height = image.size
    if crop > min(width, height):
        raise DataError(f"CelebA {name} is {width}x{height} px, smaller than the crop of {crop} px")
    left, top = (width - crop) // 2, (height - crop) // 2
    square = image.convert("RGB").crop((left, top, left + crop, top + crop))
    return np.asarray(square.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def _members(source: Path) -> tuple[list[str], zipfile.ZipFile | None]:
    if source.is_dir():
        names = sorted(p.name for p in source.iterdir() if p.suffix.lower() in _SUFFIXES and p.is_file())
        return names, None
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"CelebA archive {source} is not a readable zip file: {exc}") from exc
    names = sorted(n for n in archive.namelist() if n.lower().endswith(_SUFFIXES) and not n.endswith("/"))
    return names, archive


def official_test_rows(names: list[str]) -> np.ndarray:
    """Rows of `names` (sorted file names) in CelebA's official test partition, numbered from TEST_FIRST."""
    numbers = []
    for name in names:
        stem = Path(name).stem
        if not stem.isdigit():
            raise DataError(
                f"CelebA file {name} is not named by its number (000001.jpg, ...): the official split needs the "
                "published file names; set split: all to hold out a seeded test_fraction instead"
            )
        numbers.append(int(stem))
    rows = np.flatnonzero(np.asarray(numbers) >= TEST_FIRST)
    if rows.size == 0:
        raise DataError(
            f"the {len(names)} CelebA images read ({names[0]} to {names[-1]}) hold none of the official test "
            f"partition (from {TEST_FIRST:06d}.jpg); read them all (no limit) or set split: all to hold out a "
            "seeded test_fraction"
        )
    if rows.size == len(names):
        raise DataError(
            f"every CelebA image read ({names[0]} to {names[-1]}) is a test image: none is left to train on"
        )
    return rows.astype(np.int64)


def _image_bytes(source: Path, archive: zipfile.ZipFile | None, names: list[str]) -> Iterator[tuple[str, bytes]]:
    for name in names:
        yield name, (archive.read(name) if archive is not None else (source / name).read_bytes())


def read_celeba(
    source: str | Path,
    *,
    crop: int = DEFAULT_CROP,
    size: int = DEFAULT_SIZE,
    limit: int | None = None,
    scratch: Path | None = None,
    split: str = "all",
) -> ImportedData:
    """Read aligned CelebA images (sorted by file name) from a zip or a directory.

    Args:
        source: ``img_align_celeba.zip`` or a directory of its JPEGs.
        crop: side of the centre square kept before resizing.
        size: output side in pixels.
        limit: keep only the first ``limit`` images.
        scratch: if given, images are written into a memory-mapped ``.npy`` at this path.
        split: ``official`` marks the official test partition's images as the test split; ``all`` none.

    Raises:
        DataError: no images found, an image that cannot be decoded, or one smaller than ``crop``.
    """
    from PIL import Image, UnidentifiedImageError

    if crop < 1 or size < 1:
        raise ConfigError(f"CelebA crop and size must be >= 1, got crop={crop}, size={size}")
    if split not in SPLITS:
        raise ConfigError(f"CelebA split must be one of {SPLITS}, got {split!r}")
    source = Path(source)
    names, archive = _members(source)
    try:
        if limit is not None:
            names = names[:limit]
        if not names:
            raise DataError(f"CelebA source {source} holds no .jpg/.png images")
        test_rows = official_test_rows(names) if split == "official" else None
        shape = (len(names), size, size, 3)
        images: np.ndarray
        if scratch is not None:
            images = np.lib.format.open_memmap(scratch, mode="w+", dtype=np.uint8, shape=shape)
        else:
            images = np.empty(shape, dtype=np.uint8)
        for i, (name, data) in enumerate(_image_bytes(source, archive, names)):
            try:
                with Image.open(io.BytesIO(data)) as image:
                    images[i] = preprocess(image, crop=crop, size=size, name=name)
            except (UnidentifiedImageError, OSError) as exc:
                raise DataError(f"CelebA image {name} cannot be decoded: {exc}") from exc
        if isinstance(images, np.memmap):
            images.flush()
    finally:
        if archive is not None:
            archive.close()
    return ImportedData(
        images=images,
        factor_names=(),
        factor_sizes=(),
        factor_values=(),
        factor_classes=np.zeros((len(names), 0), dtype=np.int64),
        binary=False,
        complete_grid=False,
        extra={
            "source_file": source.name,
            "crop": crop,
            "size": size,
            "first_file": names[0],
            "last_file": names[-1],
            "split": split,
        },
        test_rows=test_rows,
    )
