"""Acquire one dataset of ``params.yaml: data.datasets`` into ``<data_root>/<name>/``.

The entry is validated first (:mod:`betavae.config.datasets`); then the source files are
downloaded into a checksum-addressed cache (``source: official``) or checked in place
(``source: path``), read by the kind's importer, and written with ``betavae.data.storage``. The
dataset directory appears only once it is complete: a failure at any step leaves an existing
directory untouched and no partial output or temp files in ``data_root``.
"""

from __future__ import annotations

import logging
import shutil
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from betavae.config.datasets import Checksum, DatasetSpec, parse_spec
from betavae.data.download import fetch_cached, resolve_inside, verify_file
from betavae.data.importers import blobs, celeba, dsprites_official, mnist, shapes3d
from betavae.data.importers.base import ImportedData, with_test_part
from betavae.data.split import seeded_test_rows
from betavae.errors import ConfigError, DataError

__all__ = ["acquire_dataset", "acquire_named", "parse_spec"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Context:
    """Where an acquisition may read and write."""

    spec: DatasetSpec
    project_root: Path
    cache_dir: Path
    scratch_dir: Path
    fetch_options: Mapping[str, Any]

    def local(self, path: str, what: str) -> Path:
        """A ``path`` key resolved inside the project (unless the spec allows otherwise)."""
        return resolve_inside(path, self.project_root, allow_outside=self.spec.allow_outside_project, what=what)

    def download(self, url: str, filename: str, checksum: Checksum | None) -> Path:
        return fetch_cached(
            url,
            self.cache_dir,
            filename=filename,
            project_root=self.project_root,
            checksum=checksum,
            allow_outside=self.spec.allow_outside_project,
            **self.fetch_options,
        )

    def single_file(self, default_url: str, filename: str, default_checksum: Checksum) -> Path:
        """The one source file of a dataset: downloaded (official) or verified in place (path)."""
        spec = self.spec
        if spec.source == "official":
            # An official download is always verified: against the given digest, else the published one.
            return self.download(spec.url or default_url, filename, spec.checksum or default_checksum)
        path = self.local(spec.path or "", spec.key("path"))
        if path.is_dir():
            raise ConfigError(f"{spec.key('path')} must name a file for kind {spec.kind}, got the directory {path}")
        return verify_file(path, spec.checksum)

    def zip_or_directory(self) -> Path:
        """A ``path`` source that may be the published zip (verified) or a directory of its files."""
        spec = self.spec
        source = self.local(spec.path or "", spec.key("path"))
        if not source.is_dir():
            return verify_file(source, spec.checksum)
        if spec.checksum is not None:
            raise ConfigError(f"{spec.key(spec.checksum.algorithm)} applies to a zip file, but {source} is a directory")
        return source

    def archive(self, default_url: str, filename: str, default_md5: str) -> Path:
        """A zipped dataset: the published zip (official), or a zip or directory of its files (path)."""
        if self.spec.source == "path":
            return self.zip_or_directory()
        return self.single_file(default_url, filename, Checksum("md5", default_md5))


def _dsprites(ctx: _Context) -> ImportedData:
    path = ctx.single_file(
        dsprites_official.OFFICIAL_URL, dsprites_official.FILENAME, Checksum("md5", dsprites_official.OFFICIAL_MD5)
    )
    return dsprites_official.read_dsprites_npz(path, expect_full=ctx.spec.options["expect_full"])


def _shapes3d(ctx: _Context) -> ImportedData:
    path = ctx.single_file(shapes3d.OFFICIAL_URL, shapes3d.FILENAME, Checksum("sha256", shapes3d.OFFICIAL_SHA256))
    return shapes3d.read_shapes3d_h5(
        path, expect_full=ctx.spec.options["expect_full"], scratch=ctx.scratch_dir / "images.npy"
    )


def _mnist(ctx: _Context) -> ImportedData:
    if ctx.spec.options["split"] == "official":
        return with_test_part(_mnist_file(ctx, "train"), _mnist_file(ctx, "test"))
    return _mnist_file(ctx, ctx.spec.options["split"])


def _mnist_file(ctx: _Context, split: str) -> ImportedData:
    """One published MNIST part (`train` or `test`): its image and label files."""
    spec, opts = ctx.spec, ctx.spec.options
    names = mnist.MNIST_FILES[split]
    checksums = dict(spec.file_checksums)
    if spec.source == "official":
        if not checksums:
            checksums = {n: Checksum("md5", mnist.MNIST_MD5[n]) for n in names}
        missing = [n for n in names if n not in checksums]
        if missing:
            raise ConfigError(f"{spec.key('md5')} (or sha256) has no entry for {', '.join(missing)}")
        base = spec.url or mnist.MNIST_URL
        base = base if base.endswith("/") else base + "/"
        files = [ctx.download(urllib.parse.urljoin(base, n), n, checksums[n]) for n in names]
    else:
        folder = ctx.local(spec.path or "", spec.key("path"))
        if not folder.is_dir():
            raise ConfigError(f"{spec.key('path')} must be a directory holding {', '.join(names)}, got {folder}")
        files = []
        for n in names:
            candidates = [folder / n, folder / n.removesuffix(".gz")]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise DataError(f"MNIST directory {folder} has no {n} (or {n.removesuffix('.gz')})")
            files.append(verify_file(found, checksums.get(found.name)))
    return mnist.read_mnist(files[0], files[1], split=split, limit=opts["limit"], classes=opts.get("classes"))


def _emnist(ctx: _Context) -> ImportedData:
    opts = ctx.spec.options
    source = ctx.archive(mnist.EMNIST_URL, mnist.EMNIST_FILENAME, mnist.EMNIST_MD5)

    def part(split: str) -> ImportedData:
        return mnist.read_emnist(
            source, subset=opts["subset"], split=split, limit=opts["limit"], classes=opts.get("classes")
        )

    return with_test_part(part("train"), part("test")) if opts["split"] == "official" else part(opts["split"])


def _celeba(ctx: _Context) -> ImportedData:
    opts = ctx.spec.options
    source = ctx.archive(celeba.OFFICIAL_URL, celeba.FILENAME, celeba.OFFICIAL_MD5)
    return celeba.read_celeba(
        source,
        crop=opts["crop"],
        size=opts["image_size"],
        limit=opts["limit"],
        scratch=ctx.scratch_dir / "images.npy",
        split=opts["split"],
    )


def _blobs(ctx: _Context) -> ImportedData:
    opts = ctx.spec.options
    return blobs.render_blobs(
        grid=opts["grid"], image_size=opts["image_size"], sigma=opts["sigma"], margin=opts["margin"]
    )


_IMPORTERS: dict[str, Callable[[_Context], ImportedData]] = {
    "dsprites": _dsprites,
    "shapes3d": _shapes3d,
    "mnist": _mnist,
    "emnist": _emnist,
    "celeba": _celeba,
    "blobs": _blobs,
}


def split_of(spec: DatasetSpec, num_images: int, published: np.ndarray | None) -> tuple[np.ndarray, dict[str, Any]]:
    """The test rows of a dataset of `num_images` images and how they were chosen: the published test
    part where the spec reads it (`split: official`), else the seeded `test_fraction`."""
    if published is not None:
        return published, {"rule": "official"}
    fraction, seed = float(spec.options["test_fraction"]), int(spec.options["split_seed"])
    return seeded_test_rows(num_images, fraction, seed), {"rule": "seeded", "test_fraction": fraction, "seed": seed}


def _write(imported: ImportedData, spec: DatasetSpec, out_dir: Path) -> Path:
    from betavae.data.storage import write_dataset

    test_rows, split = split_of(spec, imported.num_images, imported.test_rows)
    return write_dataset(
        out_dir,
        name=spec.name,
        kind=spec.kind,
        images=imported.images,
        factor_names=imported.factor_names,
        factor_sizes=imported.factor_sizes,
        factor_values=imported.factor_values,
        factor_classes=imported.factor_classes if imported.factor_names else None,
        binary=imported.binary,
        source=spec.source,
        extra={"spec": spec.as_dict(), "import": dict(imported.extra)},
        test_rows=test_rows,
        split=split,
    )


def _remove_stale(data_root: Path, name: str) -> None:
    """Delete scratch, half-written and swapped-out directories left by an acquisition of ``name`` that was
    killed outright (the storage writer's ``.<name>.tmp-*`` and ``.<name>.old-*``, the importers' scratch)."""
    for pattern in (f".{name}.scratch-*", f".{name}.tmp-*", f".{name}.old-*"):
        for stale in data_root.glob(pattern):
            log.warning("removing leftover directory %s of a killed acquisition", stale)
            shutil.rmtree(stale, ignore_errors=True)


def acquire_dataset(
    name: str,
    spec: Mapping[str, Any],
    data_root: Path,
    project_root: Path,
    *,
    cache_dir: Path | None = None,
    fetch_options: Mapping[str, Any] | None = None,
) -> Path:
    """Acquire dataset ``name`` described by ``spec`` (``params.yaml: data.datasets.<name>``).

    Args:
        name: the dataset's key; also the name of its directory.
        spec: the params entry (kind, source and the kind's keys; see :mod:`betavae.config.datasets`).
        data_root: directory that receives ``<name>/`` (``data/datasets`` in the pipeline).
        project_root: the project directory; data_root, the cache and local sources must lie inside
            it unless the spec sets ``allow_outside_project: true``.
        cache_dir: where downloads are cached by checksum; defaults to ``<data_root>/../downloads``.
        fetch_options: extra keyword arguments for ``download.fetch`` (timeout, attempts, ...).

    Returns:
        The dataset directory ``data_root / name``.

    Raises:
        ConfigError: an invalid spec (naming ``data.datasets.<name>.<key>``) or a path outside the project.
        DataError: a failed download, a checksum mismatch, or a source file in the wrong format.
    """
    parsed = parse_spec(name, spec)
    root = Path(project_root).expanduser().resolve()
    allow = parsed.allow_outside_project
    data_root = resolve_inside(data_root, root, allow_outside=allow, what="data root")
    cache = resolve_inside(
        cache_dir or data_root.parent / "downloads", root, allow_outside=allow, what="download cache"
    )
    target = data_root / name
    data_root.mkdir(parents=True, exist_ok=True)
    _remove_stale(data_root, name)
    log.info("acquiring %s (kind %s, source %s) -> %s", name, parsed.kind, parsed.source, target)

    if parsed.kind == "dsprites" and parsed.source == "procedural":
        from betavae.data.dsprites import NUM_IMAGES, write_procedural_dsprites

        # write_procedural_dsprites renders and stores through storage.write_dataset, which is atomic.
        test_rows, split = split_of(parsed, NUM_IMAGES, None)
        write_procedural_dsprites(target, test_rows=test_rows, split=split)
        return target

    scratch = data_root / f".{name}.scratch-{uuid.uuid4().hex[:12]}"
    scratch.mkdir()
    try:
        ctx = _Context(parsed, root, cache, scratch, dict(fetch_options or {}))
        imported = _IMPORTERS[parsed.kind](ctx)
        log.info("read %d images of shape %s", imported.num_images, imported.images.shape[1:])
        out = _write(imported, parsed, target)
        del imported  # release a scratch memmap before its directory is removed
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out


def acquire_named(
    name: str,
    datasets: Mapping[str, Mapping[str, Any]] | None,
    data_root: Path,
    project_root: Path,
    **options: Any,
) -> Path:
    """Acquire ``name`` from the ``data.datasets`` mapping; an unknown name is a ConfigError listing the known ones."""
    datasets = datasets or {}
    if name not in datasets:
        raise ConfigError(f"data.datasets has no dataset {name!r}; defined: {', '.join(sorted(datasets)) or 'none'}")
    return acquire_dataset(name, datasets[name], data_root, project_root, **options)
