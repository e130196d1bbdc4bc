"""Cost of the dSprites data stage: rendering the grid, its size on disk, and loading it.

Full mode renders all 737,280 images, writes them with the project's storage (bit-packed, compressed,
checksummed), loads them back (checksums verified) and runs the Great Expectations validation. Quick
mode does the same for the first `QUICK_SPRITES` of the 720 sprites (1,024 images each: every position)
and projects the full grid's figures linearly, saying so in the result.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.timing import timed
from betavae.data import dsprites
from betavae.data.storage import PackedImages, load_dataset, write_dataset

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dsprites_real_12.npz"
QUICK_SPRITES = 24
IMAGES_PER_SPRITE = dsprites.NUM_IMAGES // dsprites.NUM_SPRITES


def _write_sprites(out_dir: Path, num_sprites: int) -> Path:
    bits = dsprites.render_sprites_packed(range(num_sprites))
    return write_dataset(
        out_dir,
        name=out_dir.name,
        kind="dsprites",
        images=PackedImages(bits, (dsprites.IMAGE_SIZE, dsprites.IMAGE_SIZE, 1)),
        factor_names=dsprites.FACTOR_NAMES,
        factor_sizes=dsprites.FACTOR_SIZES,
        factor_values=dsprites.FACTOR_VALUES,
        factor_classes=dsprites.all_classes()[: num_sprites * IMAGES_PER_SPRITE],
        binary=True,
        source="procedural",
    )


def fixture_iou() -> list[float]:
    """Intersection over union of white pixels between the renderer and each of 12 real dSprites images."""
    import numpy as np

    real = np.load(FIXTURE)
    drawn = dsprites.render(dsprites.classes_from_values(real["latents_values"])).astype(bool)
    truth = real["imgs"].astype(bool)
    return [round(float((a & b).sum() / (a | b).sum()), 4) for a, b in zip(drawn, truth, strict=True)]


def measure(quick: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="betavae_bench_data_"))
    try:
        return _measure(work, quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(work: Path, quick: bool) -> dict[str, Any]:
    ious = fixture_iou()
    out: dict[str, Any] = {"fixture_iou_min": min(ious), "fixture_iou_mean": round(sum(ious) / len(ious), 4)}
    if quick:
        sprites = QUICK_SPRITES
        times, _ = timed(lambda: dsprites.render_sprites_packed(range(sprites)), 1)
        times_w, path = timed(lambda: _write_sprites(work / "dsprites", sprites), 1)
        scale = dsprites.NUM_SPRITES / sprites
        out["measured_images"] = sprites * IMAGES_PER_SPRITE
        out["projected_to_full_grid"] = True
    else:
        times, _ = timed(lambda: dsprites.render_all_packed(workers=1), 1)
        times_w, path = timed(lambda: dsprites.write_procedural_dsprites(work / "dsprites"), 1)
        scale = 1.0
        out["measured_images"] = dsprites.NUM_IMAGES
        out["projected_to_full_grid"] = False
    stored = sum(p.stat().st_size for p in path.iterdir())
    load_times, data = timed(lambda: load_dataset(path), 1 if quick else 3)
    out["generate_s"] = round(times[0] * scale, 2)
    out["generate_and_write_s"] = round(times_w[0] * scale, 2)
    out["stored_mb"] = round(stored * scale / 1e6, 2)
    out["load_s"] = round(statistics.median(load_times) * scale, 2)
    out["images"] = int(data.images.shape[0] * scale)
    del data
    if not quick:
        from betavae.data.validation import check_dataset

        times, report = timed(lambda: check_dataset(path, work / "validation"), 2)
        out["validate_s_first_with_import"] = round(times[0], 2)
        out["validate_s"] = round(times[1], 2)
        out["validation_success"] = bool(report.success)
    return out
