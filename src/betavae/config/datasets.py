"""The ``params.yaml: data.datasets.<name>`` entry, validated into a frozen :class:`DatasetSpec`.

Every key is checked before anything is downloaded or written, and every error names the full
params key, e.g. ``data.datasets.mnist.split must be one of train, test; got 'valid'``.

Keys by kind (``kind`` and ``source`` are always required; ``allow_outside_project``, ``description``,
``test_fraction`` and ``split_seed`` are accepted everywhere):

============  ==========================  ===============================================
kind          sources                     other keys
============  ==========================  ===============================================
dsprites      procedural, official, path  expect_full (official/path)
shapes3d      official, path              expect_full
mnist         official, path              split, limit, classes
emnist        official, path              split, subset, limit, classes
celeba        official, path              split, crop, image_size, limit
blobs         procedural                  grid, image_size, sigma, margin
============  ==========================  ===============================================

Every dataset holds out a test split (:mod:`betavae.data.split`): MNIST and EMNIST their official test
files (``split: official``, the default: both files are read, the test file's images are the test split),
CelebA its official test partition (``split: official``, the default; ``all`` for images not named as
published); every other dataset, MNIST/EMNIST read from one file (``split: train`` or ``test``) and CelebA
with ``split: all``, a seeded ``test_fraction`` of its images (default 0.1; 0 holds nothing out) drawn with
``split_seed`` (default 0).

``official`` takes an optional ``url`` (defaults to the published location; for MNIST the base URL of
the four files) and ``path`` takes a required ``path`` inside the project. Both take ``sha256`` or
``md5``: a hex string for single-file datasets, a mapping from file name to hex string for MNIST.
An official download with no checksum given is verified against the published one. A checksum is
held as a :class:`Checksum`, which :mod:`betavae.data.download` verifies files against.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from betavae.config.validation import (
    require_bool,
    require_choice,
    require_int,
    require_number,
)
from betavae.errors import ConfigError
from betavae.paths import check_dataset_name

__all__ = [
    "ALGORITHMS",
    "DEFAULT_TEST_FRACTION",
    "EMNIST_LABELS",
    "KIND_SOURCES",
    "MNIST_SPLITS",
    "Checksum",
    "DatasetSpec",
    "parse_spec",
]

KIND_SOURCES: dict[str, tuple[str, ...]] = {
    "dsprites": ("procedural", "official", "path"),
    "shapes3d": ("official", "path"),
    "mnist": ("official", "path"),
    "emnist": ("official", "path"),
    "celeba": ("official", "path"),
    "blobs": ("procedural",),
}
_COMMON_KEYS = frozenset({"kind", "source", "allow_outside_project", "description", "test_fraction", "split_seed"})
_SOURCE_KEYS = {
    "procedural": frozenset(),
    "official": frozenset({"url", "sha256", "md5"}),
    "path": frozenset({"path", "sha256", "md5"}),
}
_KIND_KEYS = {
    "dsprites": frozenset({"expect_full"}),
    "shapes3d": frozenset({"expect_full"}),
    "mnist": frozenset({"split", "limit", "classes"}),
    "emnist": frozenset({"split", "subset", "limit", "classes"}),
    "celeba": frozenset({"split", "crop", "image_size", "limit"}),
    "blobs": frozenset({"grid", "image_size", "sigma", "margin"}),
}
#: Kind keys that only make sense when reading files (procedural dSprites takes none of them).
_FILE_ONLY_KEYS = frozenset({"expect_full"})

#: The label values of each EMNIST subset (Cohen et al. 2017, Table II). ``letters`` counts from 1.
EMNIST_LABELS: dict[str, tuple[int, ...]] = {
    "byclass": tuple(range(62)),
    "bymerge": tuple(range(47)),
    "balanced": tuple(range(47)),
    "letters": tuple(range(1, 27)),
    "digits": tuple(range(10)),
    "mnist": tuple(range(10)),
}
#: What MNIST and EMNIST read: both published files (the test file held out), or one of them.
MNIST_SPLITS = ("official", "train", "test")

#: What CelebA holds out: its official test partition, or (``all``) a seeded fraction of every image.
CELEBA_SPLITS = ("official", "all")

#: Share of the images held out for testing where a dataset publishes no split of its own.
DEFAULT_TEST_FRACTION = 0.1

#: Checksum algorithms accepted in ``params.yaml``, with the length of their hex digest.
ALGORITHMS: dict[str, int] = {"sha256": 64, "md5": 32}


@dataclass(frozen=True)
class Checksum:
    """An expected file digest: ``algorithm`` is ``"sha256"`` or ``"md5"``, ``value`` its hex digest."""

    algorithm: str
    value: str

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"checksum algorithm must be one of {sorted(ALGORITHMS)}, got {self.algorithm!r}")
        if not isinstance(self.value, str):
            raise ConfigError(f"{self.algorithm} checksum must be a hex string, got {self.value!r}")
        value = self.value.strip().lower()
        length = ALGORITHMS[self.algorithm]
        if len(value) != length or any(c not in "0123456789abcdef" for c in value):
            raise ConfigError(f"{self.algorithm} checksum must be {length} hex digits, got {self.value!r}")
        object.__setattr__(self, "value", value)

    def new_hash(self) -> hashlib._Hash:
        """A fresh hash object of this checksum's algorithm."""
        return hashlib.new(self.algorithm)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


@dataclass(frozen=True)
class DatasetSpec:
    """One validated ``data.datasets.<name>`` entry.

    Attributes:
        name: the dataset's key (also its directory name under the data root).
        kind, source: as in params.yaml.
        url: download URL for ``official`` (None = the kind's published URL).
        path: local file or directory for ``path``.
        checksum: expected digest of the single source file, if any.
        file_checksums: expected digest per file name (MNIST), if any.
        allow_outside_project: accept a ``path`` outside the project root.
        options: the kind's own keys with defaults filled in (split, limit, grid, ...).
    """

    name: str
    kind: str
    source: str
    url: str | None = None
    path: str | None = None
    checksum: Checksum | None = None
    file_checksums: Mapping[str, Checksum] = field(default_factory=dict)
    allow_outside_project: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)

    def key(self, sub: str | None = None) -> str:
        """The params.yaml key of this entry or of one of its keys, for error messages."""
        return f"data.datasets.{self.name}" + (f".{sub}" if sub else "")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description recorded in the dataset's manifest."""
        out: dict[str, Any] = {"kind": self.kind, "source": self.source}
        if self.url is not None:
            out["url"] = self.url
        if self.path is not None:
            out["path"] = self.path
        if self.checksum is not None:
            out[self.checksum.algorithm] = self.checksum.value
        if self.file_checksums:
            out["checksums"] = {k: str(v) for k, v in self.file_checksums.items()}
        out.update({k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()})
        return out


def _checksums(spec: Mapping[str, Any], where: str, kind: str) -> tuple[Checksum | None, dict[str, Checksum]]:
    given = [a for a in ("sha256", "md5") if spec.get(a) is not None]
    if len(given) > 1:
        raise ConfigError(f"{where}: give either sha256 or md5, not both")
    if not given:
        return None, {}
    algorithm = given[0]
    value = spec[algorithm]
    key = f"{where}.{algorithm}"
    if isinstance(value, Mapping):
        if kind != "mnist":
            raise ConfigError(f"{key} must be a hex string for kind {kind}, got a mapping")
        out = {}
        for filename, hexdigest in value.items():
            try:
                out[str(filename)] = Checksum(algorithm, hexdigest)
            except ConfigError as exc:
                raise ConfigError(f"{key}.{filename}: {exc}") from exc
        return None, out
    if kind == "mnist":
        raise ConfigError(f"{key} must map each MNIST file name to its digest, got {value!r}")
    try:
        return Checksum(algorithm, value), {}
    except ConfigError as exc:
        raise ConfigError(f"{key}: {exc}") from exc


def _kind_options(kind: str, source: str, spec: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate the kind's own keys and fill in their defaults."""
    opts: dict[str, Any] = {}
    get = spec.get
    if kind in ("dsprites", "shapes3d") and source != "procedural":
        opts["expect_full"] = require_bool(f"{where}.expect_full", get("expect_full", True))
    if kind in ("mnist", "emnist", "celeba"):
        limit = get("limit")
        opts["limit"] = None if limit is None else require_int(f"{where}.limit", limit, 1)
    if kind in ("mnist", "emnist"):
        opts["split"] = require_choice(f"{where}.split", get("split", "official"), MNIST_SPLITS)
    if kind == "emnist":
        opts["subset"] = require_choice(f"{where}.subset", get("subset", "balanced"), tuple(EMNIST_LABELS))
    if kind in ("mnist", "emnist"):
        labels = EMNIST_LABELS[opts["subset"]] if kind == "emnist" else EMNIST_LABELS["mnist"]
        classes = _classes(f"{where}.classes", get("classes"), labels)
        if classes is not None:  # absent, it leaves the manifests of existing datasets as they were
            opts["classes"] = classes
    if kind == "celeba":
        opts["split"] = require_choice(f"{where}.split", get("split", "official"), CELEBA_SPLITS)
        opts["crop"] = require_int(f"{where}.crop", get("crop", 140), 1)
        opts["image_size"] = require_int(f"{where}.image_size", get("image_size", 64), 8)
    if kind == "blobs":
        grid = get("grid", 32)
        if isinstance(grid, (list, tuple)):
            if len(grid) != 2:
                raise ConfigError(f"{where}.grid must be an integer or a pair [x, y], got {grid!r}")
            opts["grid"] = (require_int(f"{where}.grid[0]", grid[0], 2), require_int(f"{where}.grid[1]", grid[1], 2))
        else:
            size = require_int(f"{where}.grid", grid, 2)
            opts["grid"] = (size, size)
        opts["image_size"] = require_int(f"{where}.image_size", get("image_size", 64), 8)
        opts["sigma"] = require_number(f"{where}.sigma", get("sigma", 3.0), 0.0, exclusive=True)
        margin = get("margin")
        opts["margin"] = None if margin is None else require_number(f"{where}.margin", margin, 0.0, exclusive=False)
    if opts.get("split") == "official":
        if get("test_fraction") is not None:
            raise ConfigError(
                f"{where}.test_fraction applies to datasets without a published split; with split: official "
                "the published test images are the test split (set another split to hold out a fraction)"
            )
    else:
        fraction = get("test_fraction", DEFAULT_TEST_FRACTION)
        opts["test_fraction"] = require_number(f"{where}.test_fraction", fraction, 0.0, maximum=0.5)
    opts["split_seed"] = require_int(f"{where}.split_seed", get("split_seed", 0), 0)
    return opts


def _classes(key: str, value: Any, labels: tuple[int, ...]) -> tuple[int, ...] | None:
    """`classes`: the label values to keep (e.g. EMNIST letters A-D, [1, 2, 3, 4], as Levy et al. 2020
    Sec. 4.1 train on), in increasing order; None keeps every class."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{key} must be a non-empty list of label values, got {value!r}")
    kept = [require_int(f"{key}[{i}]", v, 0) for i, v in enumerate(value)]
    outside = [v for v in kept if v not in labels]
    if outside:
        raise ConfigError(f"{key}: {outside} are not label values of this dataset ({labels[0]}..{labels[-1]})")
    if len(set(kept)) != len(kept):
        raise ConfigError(f"{key} lists a label twice: {value!r}")
    return tuple(sorted(kept))


def parse_spec(name: str, spec: Mapping[str, Any] | None) -> DatasetSpec:
    """Validate one ``data.datasets.<name>`` entry.

    Raises:
        ConfigError: a bad name, missing/unknown kind or source, unknown key, or a value out of range;
            the message names the full key (``data.datasets.<name>.<key>``).
    """
    check_dataset_name(name)
    where = f"data.datasets.{name}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a mapping with at least kind and source, got {spec!r}")
    if "kind" not in spec:
        raise ConfigError(f"{where}.kind is missing; expected one of {', '.join(KIND_SOURCES)}")
    kind = require_choice(f"{where}.kind", spec["kind"], tuple(KIND_SOURCES))
    if "source" not in spec:
        raise ConfigError(f"{where}.source is missing; kind {kind} takes one of {', '.join(KIND_SOURCES[kind])}")
    source = require_choice(f"{where}.source", spec["source"], KIND_SOURCES[kind])
    allowed = _COMMON_KEYS | _SOURCE_KEYS[source] | _KIND_KEYS[kind]
    if source == "procedural":
        allowed -= _FILE_ONLY_KEYS
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(f'{where}.{k}' for k in unknown)} for kind {kind} with "
            f"source {source}; expected some of {', '.join(sorted(allowed))}"
        )
    url = spec.get("url")
    if url is not None:
        if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("http", "https", "file"):
            raise ConfigError(f"{where}.url must be an http, https or file URL, got {url!r}")
    path = spec.get("path")
    if source == "path":
        if not isinstance(path, str) or not path:
            raise ConfigError(f"{where}.path is required for source path and must be a string, got {path!r}")
    checksum, file_checksums = _checksums(spec, where, kind)
    return DatasetSpec(
        name=name,
        kind=kind,
        source=source,
        url=url,
        path=path,
        checksum=checksum,
        file_checksums=MappingProxyType(file_checksums),
        allow_outside_project=require_bool(f"{where}.allow_outside_project", spec.get("allow_outside_project", False)),
        options=MappingProxyType(_kind_options(kind, source, spec, where)),
    )
