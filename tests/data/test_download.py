"""Downloads against a real HTTP server on 127.0.0.1: sizes, checksums, atomic placement, caching."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from betavae.config.datasets import Checksum
from betavae.data.download import (
    fetch,
    fetch_cached,
    file_digest,
    resolve_inside,
    verify_file,
)
from betavae.errors import ConfigError, DataError
from tests.helpers.http_server import serve_directory

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture()
def served(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "blob.bin").write_bytes(PAYLOAD)
    with serve_directory(site) as (base, seen):
        yield base, seen


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if ".part-" in p.name)


def test_known_digests_of_the_payload() -> None:
    # Literal digests pin the hashing itself, independently of hashlib calls in this module.
    assert hashlib.sha256(b"abc").hexdigest() == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert len(PAYLOAD) == 10240


def test_http_download_with_sha256_lands_complete(served, project: Path) -> None:
    base, seen = served
    dest = project / "data" / "raw" / "blob.bin"
    out = fetch(f"{base}/blob.bin", dest, project_root=project, checksum=Checksum("sha256", PAYLOAD_SHA256))
    assert out == dest.resolve()
    assert dest.read_bytes() == PAYLOAD
    assert seen == ["/blob.bin"]
    assert _leftovers(project) == []


def test_md5_checksum_is_accepted_and_file_digest_agrees(served, project: Path) -> None:
    base, _ = served
    dest = fetch(f"{base}/blob.bin", project / "b.bin", project_root=project, checksum=Checksum("md5", PAYLOAD_MD5))
    assert file_digest(dest, "md5") == PAYLOAD_MD5
    assert verify_file(dest, Checksum("md5", PAYLOAD_MD5.upper())) == dest


def test_truncated_download_fails_and_leaves_nothing(served, project: Path) -> None:
    base, seen = served
    url = f"{base}/truncate/1000/blob.bin"
    dest = project / "raw" / "blob.bin"
    with pytest.raises(DataError, match=r"truncated download: got 1000 of 10240 bytes from ") as info:
        fetch(url, dest, project_root=project, attempts=1)
    assert url in str(info.value)
    assert not dest.exists()
    assert _leftovers(project) == []
    assert len(seen) == 1


def test_truncated_download_is_retried(served, project: Path) -> None:
    base, seen = served
    with pytest.raises(DataError, match="truncated download: got 10 of 10240"):
        fetch(f"{base}/truncate/10/blob.bin", project / "x.bin", project_root=project, attempts=3, retry_wait=0.0)
    assert seen == ["/truncate/10/blob.bin"] * 3


def test_checksum_mismatch_names_file_and_both_digests(served, project: Path) -> None:
    base, seen = served
    wrong = "0" * 64
    dest = project / "raw" / "blob.bin"
    with pytest.raises(DataError) as info:
        fetch(f"{base}/blob.bin", dest, project_root=project, checksum=Checksum("sha256", wrong), attempts=3)
    message = str(info.value)
    assert message.startswith(f"checksum mismatch for blob.bin: expected {wrong}, got {PAYLOAD_SHA256}")
    assert not dest.exists()
    assert _leftovers(project) == []
    assert len(seen) == 1  # a wrong checksum is not retried


def test_http_error_status_is_reported(served, project: Path) -> None:
    base, _ = served
    with pytest.raises(DataError, match=r"download failed: HTTP 404 .* from http://127\.0\.0\.1:\d+/status/404/x"):
        fetch(f"{base}/status/404/x", project / "x", project_root=project)


def test_html_page_instead_of_data_is_rejected(served, project: Path) -> None:
    base, _ = served
    with pytest.raises(DataError, match="returned an HTML page instead of the data file"):
        fetch(f"{base}/html/file.zip", project / "file.zip", project_root=project)
    assert not (project / "file.zip").exists()


def test_unreachable_host_is_reported(project: Path) -> None:
    with socket.socket() as probe:  # find a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/nothing.bin"
    with pytest.raises(DataError, match=f"download failed: cannot reach {url}"):
        fetch(url, project / "n.bin", project_root=project, attempts=1, timeout=2.0)


def test_cache_by_checksum_downloads_once_and_repairs_corruption(served, project: Path) -> None:
    base, seen = served
    checksum = Checksum("sha256", PAYLOAD_SHA256)
    cache = project / "data" / "downloads"
    first = fetch_cached(f"{base}/blob.bin", cache, filename="blob.bin", project_root=project, checksum=checksum)
    assert first == (cache / f"sha256-{PAYLOAD_SHA256}" / "blob.bin").resolve()
    second = fetch_cached(f"{base}/blob.bin", cache, filename="blob.bin", project_root=project, checksum=checksum)
    assert second == first
    assert seen == ["/blob.bin"]
    first.write_bytes(b"corrupted")
    third = fetch_cached(f"{base}/blob.bin", cache, filename="blob.bin", project_root=project, checksum=checksum)
    assert third.read_bytes() == PAYLOAD
    assert seen == ["/blob.bin", "/blob.bin"]


def test_cache_without_checksum_fetches_every_time(served, project: Path) -> None:
    base, seen = served
    cache = project / "cache"
    for _ in range(2):
        out = fetch_cached(f"{base}/blob.bin", cache, filename="blob.bin", project_root=project)
    assert out == (cache / "unverified" / "blob.bin").resolve()
    assert len(seen) == 2


def test_local_path_and_file_url_are_copied(project: Path) -> None:
    src = project / "incoming" / "blob.bin"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    a = fetch("incoming/blob.bin", project / "a.bin", project_root=project, checksum=Checksum("md5", PAYLOAD_MD5))
    b = fetch(src.as_uri(), project / "b.bin", project_root=project)
    assert a.read_bytes() == PAYLOAD and b.read_bytes() == PAYLOAD


def test_local_path_outside_project_fails_naming_it(tmp_path: Path, project: Path) -> None:
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(PAYLOAD)
    with pytest.raises(ConfigError, match=rf"lies outside the project root {project}") as info:
        fetch(str(outside), project / "x.bin", project_root=project)
    assert str(outside) in str(info.value)
    with pytest.raises(ConfigError, match="outside the project root"):
        fetch(outside.as_uri(), project / "x.bin", project_root=project)
    with pytest.raises(ConfigError, match=r"source path '\.\./elsewhere\.bin'"):
        fetch("../elsewhere.bin", project / "x.bin", project_root=project)
    # Explicitly allowed, the same file is accepted.
    out = fetch(str(outside), project / "x.bin", project_root=project, allow_outside=True)
    assert out.read_bytes() == PAYLOAD


def test_destination_outside_project_fails(tmp_path: Path, project: Path, served) -> None:
    base, seen = served
    with pytest.raises(ConfigError, match=r"destination .*outside the project root"):
        fetch(f"{base}/blob.bin", tmp_path / "escaped.bin", project_root=project)
    assert seen == []
    assert not (tmp_path / "escaped.bin").exists()


def test_resolve_inside_follows_symlinks(tmp_path: Path, project: Path) -> None:
    (tmp_path / "real").mkdir()
    (project / "link").symlink_to(tmp_path / "real")
    with pytest.raises(ConfigError, match="outside the project root"):
        resolve_inside("link/file", project)
    assert resolve_inside("data/x", project) == project.resolve() / "data" / "x"


@pytest.mark.parametrize(
    ("algorithm", "value", "expected"),
    [
        ("sha1", "a" * 40, "algorithm must be one of"),
        ("md5", "xyz", "must be 32 hex digits"),
        ("sha256", "a" * 63, "must be 64 hex digits"),
    ],
)
def test_bad_checksums_are_config_errors(algorithm: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        Checksum(algorithm, value)


def test_missing_local_source_is_reported(project: Path) -> None:
    with pytest.raises(DataError, match=r"source file .*nope\.bin does not exist"):
        fetch("nope.bin", project / "x.bin", project_root=project)
