"""Nothing the project loads executes code; nothing it writes or reads escapes the project's folders."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import numpy as np
import pytest

from betavae.data.importers.dsprites_official import read_dsprites_npz
from betavae.errors import ConfigError, DataError
from betavae.paths import check_dataset_name
from tests.helpers.project_copy import ROOT
from tests.helpers.untrusted import Exploit

SOURCES = sorted([*ROOT.joinpath("src").rglob("*.py"), *ROOT.joinpath("pipelines").rglob("*.py")])
UNPICKLERS = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def calls(name: str):
    """(path, call node) for every call of a function or method named `name` in the project's code."""
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    yield path.relative_to(ROOT), node


def keyword(node: ast.Call, name: str):
    for kw in node.keywords:
        if kw.arg == name:
            return kw.value
    return None


def test_every_torch_load_refuses_pickled_code():
    found = list(calls("load"))
    torch_loads = [
        (p, n) for p, n in found if isinstance(n.func, ast.Attribute) and getattr(n.func.value, "id", None) == "torch"
    ]
    assert torch_loads, "expected the checkpoint loader to call torch.load"
    for path, node in torch_loads:
        flag = keyword(node, "weights_only")
        assert isinstance(flag, ast.Constant) and flag.value is True, (
            f"{path}:{node.lineno} torch.load without weights_only=True"
        )


def test_no_numpy_load_allows_pickles_and_no_module_imports_an_unpickler():
    for path, node in calls("load"):
        flag = keyword(node, "allow_pickle")
        assert flag is None or (isinstance(flag, ast.Constant) and flag.value is False), f"{path}:{node.lineno}"
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            assert not {n.split(".")[0] for n in names} & UNPICKLERS, f"{path.relative_to(ROOT)} imports {names}"


def test_archives_are_read_member_by_member_never_extracted():
    """The importers read zip members into memory by name; nothing extracts, so `../` names write nowhere."""
    assert [f"{p}:{n.lineno}" for name in ("extractall", "extract", "unpack_archive") for p, n in calls(name)] == []


def test_official_dsprites_metadata_is_never_unpickled(tmp_path):
    """The published archive carries a pickled `metadata` object; reading the file must not run it."""
    target = tmp_path / "owned.txt"
    metadata = np.empty((), dtype=object)
    metadata[()] = Exploit(target)
    classes = np.zeros((2, 6), dtype=np.int64)
    classes[1, 1] = 1
    path = tmp_path / "dsprites.npz"
    np.savez(
        path,
        imgs=np.zeros((2, 64, 64), dtype=np.uint8),
        latents_values=classes.astype(np.float64),
        latents_classes=classes,
        metadata=metadata,
    )
    try:
        read_dsprites_npz(path, expect_full=False)
    except DataError:
        pass  # a two-image grid may be refused; what matters is that nothing was unpickled
    assert not target.exists()


@pytest.mark.parametrize("name", ["..", "../x", "a/b", "/etc", ".hidden", "a\n", "", "x\\..\\y", "~root"])
def test_dataset_names_cannot_leave_the_data_folder(name):
    with pytest.raises(ConfigError, match="must start with a letter or digit"):
        check_dataset_name(name, "data.dataset")


def test_cli_refuses_a_dataset_name_that_is_a_path(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "betavae.cli", "--root", str(tmp_path), "pull", "../../etc"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: dataset: dataset name '../../etc' must start with a letter or digit and use only letters, "
        "digits, '_', '-' and '.'"
    ]


def test_servers_default_to_loopback():
    from betavae.cli import build_parser

    assert build_parser().parse_args(["serve", "x"]).host == "127.0.0.1"
    texts = [p.read_text() for p in SOURCES] + [
        (ROOT / "Makefile").read_text(),
        (ROOT / "pipelines" / "prefect.yaml").read_text(),
    ]
    assert not [t for t in texts if "0.0.0.0" in t]


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: d / "absent", "first: {p} is not a dataset folder"),
        (lambda d: (d / "f.npy").write_bytes(b"x") and d / "f.npy", "first: {p} is not a dataset folder"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "no manifest"),
    ],
)
def test_compare_refuses_what_is_not_a_dataset(tmp_path, capsys, make, expected):
    from betavae.cli import main

    path = make(tmp_path)
    assert main(["compare", str(path), str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and expected.format(p=path) in err, err


def test_compare_of_a_dataset_with_itself_reports_exact_agreement(tmp_path, capsys):
    from betavae.cli import main
    from tests.helpers.datasets import write_block_grid

    dataset = write_block_grid(tmp_path / "blocks")
    assert main(["compare", str(dataset), str(dataset), "--out", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exact_match_fraction"] == 1.0 and report["num_compared"] == 32
    assert json.loads(capsys.readouterr().out) == report
