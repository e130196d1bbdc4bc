"""Bad input to `betavae pull` and to a served model: one `error:` line or HTTP 400, never a traceback;
stopping `betavae serve` (SIGTERM or SIGKILL) leaves no server process behind; runs of killed processes
are closed as KILLED."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from betavae.cli import main
from betavae.tracking.client import client_for, close_orphaned_runs, ensure_experiment, start_run
from betavae.tracking.tags import OWNER_HOST_TAG, OWNER_PID_TAG
from tests.helpers.processes import listening_addresses, wait_gone
from tests.helpers.project_copy import ROOT, clean_env, free_port
from tests.helpers.runs import register_tiny_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project holding one registered tiny model, `betavae-tiny@champion` (28x28 binary images, 4 latents)."""
    root = tmp_path_factory.mktemp("served")
    register_tiny_model(root)
    return root


def pull(project, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--root", str(project), "encode", "tiny", *args])
    out, err = capsys.readouterr()
    return code, out, err


def write(path, content) -> str:
    if isinstance(content, np.ndarray):
        np.save(path, content, allow_pickle=content.dtype.hasobject)
    else:
        path.write_bytes(content)
    return str(path)


ones = np.ones((2, 28, 28), dtype=np.uint8)
objects = np.empty(1, dtype=object)


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            ones.astype(np.uint8) * 255,
            "pixel values span 255..255, but the model was trained on integers in 0..1 "
            "(binary images); convert them, or pass --rescale",
        ),
        (ones.astype(np.float32) * 0.5, "pixel values span 0.5..0.5 (not all integers)"),
        (
            np.ones((2, 64, 64), dtype=np.uint8),
            "expected images of shape (n, 28, 28, 1) or (n, 28, 28), got (2, 64, 64)",
        ),
        (objects, "holds Python objects (dtype object), which would have to be unpickled"),
        (pickle.dumps({"a": 1}), "is not a .npy file"),
        (b"1 0 1\n", "is not a .npy file"),
        (b"", "is empty"),
        ("truncated", "is truncated: its header announces uint8 (2, 28, 28)"),
    ],
)
def test_pull_refuses_bad_image_files_in_one_line(project, tmp_path, capsys, content, expected):
    path = tmp_path / "images.npy"
    if isinstance(content, str):
        np.save(path, ones)
        path.write_bytes(path.read_bytes()[:-100])
    else:
        write(path, content)
    code, out, err = pull(project, capsys, "--images", str(path))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: --images") and str(path) in err and expected in err, err


def test_pull_rescales_only_when_asked(project, tmp_path, capsys):
    path = write(tmp_path / "images.npy", ones * 255)
    code, out, err = pull(project, capsys, "--images", path, "--rescale", "--out", str(tmp_path / "codes.npy"))
    assert code == 0, err
    rescaled = np.load(tmp_path / "codes.npy")
    code, _, err = pull(
        project, capsys, "--images", write(tmp_path / "b.npy", ones), "--out", str(tmp_path / "b_codes.npy")
    )
    assert code == 0, err
    np.testing.assert_array_equal(rescaled, np.load(tmp_path / "b_codes.npy"))
    assert rescaled.shape == (2, 4) and np.isfinite(rescaled).all()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--alias", "nope"], "error: no registered model models:/betavae-tiny@nope"),
        (["--out", "{tmp}"], "is a directory; expected a file name"),
    ],
)
def test_pull_names_a_missing_alias_or_a_bad_output(project, tmp_path, capsys, args, expected):
    code, out, err = pull(project, capsys, *[a.format(tmp=tmp_path) for a in args])
    assert code == 1 and expected in err and "Traceback" not in err


def test_pull_of_an_unregistered_dataset_exits_1_without_traceback(project):
    env = clean_env(project)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    proc = subprocess.run(
        [sys.executable, "-m", "betavae.cli", "--root", str(project), "pull", "other"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    # MLflow may first log its own set-up of a new tracking store; our message is a line of its own.
    assert "\nerror: no registered model models:/betavae-other@champion" in "\n" + proc.stderr


def post(port: int, payload: dict) -> tuple[int, dict]:
    import httpx

    response = httpx.post(f"http://127.0.0.1:{port}/invocations", json=payload, timeout=60)
    return response.status_code, response.json()


def start_server(project, model: str = "tiny") -> tuple[subprocess.Popen, int, int]:
    import httpx

    env = clean_env(project)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "betavae.cli", "--root", str(project), "serve", model, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert serve.poll() is None, serve.stderr.read().decode()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise AssertionError("betavae serve did not answer /ping")
    children = psutil.Process(serve.pid).children(recursive=True)
    assert len(children) == 1
    return serve, port, children[0].pid


BAD_REQUESTS = [
    ({"inputs": (np.ones((2, 28, 28, 1)) * 0.5).tolist()}, "images"),  # not whole pixel values
    ({"inputs": np.ones((2, 32, 32, 1), dtype=np.uint8).tolist()}, "expected images of shape (n, 28, 28, 1)"),
    ({"inputs": [["a", "b"]]}, "pixel values must be numbers"),
    ({"inputs": []}, "expected images of shape"),
    (
        {"inputs": np.ones((2, 28, 28, 1), dtype=np.uint8).tolist(), "params": {"method": "bogus"}},
        "params.method must be one of encode, decode, reconstruct",
    ),
    (
        {"inputs": np.ones((2, 7)).tolist(), "params": {"method": "decode"}},
        "latents: expected finite numbers of shape (n, 4)",
    ),
    (
        {"inputs": np.ones((2, 28, 28, 1), dtype=np.uint8).tolist(), "params": {"condition": 1}},
        "params.condition 1: this model is not conditional; pass none",
    ),
]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL])
def test_served_model_answers_refuses_and_stops_with_its_command(project, stop_signal):
    serve, port, server = start_server(project)
    try:
        assert listening_addresses(server) == {"127.0.0.1"}
        if stop_signal == signal.SIGTERM:
            status, body = post(port, {"inputs": np.ones((2, 28, 28, 1), dtype=np.uint8).tolist()})
            assert status == 200 and np.asarray(body["predictions"]).shape == (2, 4)
            status, body = post(port, {"inputs": (np.ones((1, 28, 28, 1), dtype=np.uint8) * 255).tolist()})
            assert status == 400 and "pixel values span 255..255" in json.dumps(body)
            for payload, expected in BAD_REQUESTS:
                status, body = post(port, payload)
                # one line naming the problem, not MLflow's dump of the request's array
                assert status == 400 and expected in body["message"], (
                    payload if len(str(payload)) < 200 else expected,
                    body,
                )
                assert "\n" not in body["message"] and len(body["message"]) < 300, body["message"]
        serve.send_signal(stop_signal)
        serve.wait(30)
        assert wait_gone(server), f"server {server} outlived betavae serve ({stop_signal.name})"
    finally:
        for pid in (serve.pid, server):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        serve.wait()


def test_a_pulled_folder_is_served_offline_with_the_same_checks(project, tmp_path, capsys):
    assert main(["--root", str(project), "pull", "tiny", "--out", str(tmp_path / "model")]) == 0
    elsewhere = tmp_path / "elsewhere"  # no tracking store: the folder alone is served
    elsewhere.mkdir()
    serve, port, server = start_server(elsewhere, str(tmp_path / "model"))
    try:
        status, body = post(port, {"inputs": np.ones((2, 28, 28, 1), dtype=np.uint8).tolist()})
        assert status == 200 and np.asarray(body["predictions"]).shape == (2, 4)
        payload, expected = BAD_REQUESTS[1]
        status, body = post(port, payload)
        assert status == 400 and expected in body["message"]
        assert not (elsewhere / "mlflow.db").exists()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
        assert wait_gone(server)


def test_serve_names_a_folder_that_is_not_a_pulled_package(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "serve", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: {tmp_path} is a folder without an MLmodel file, not one made by `betavae pull`"


def test_runs_of_dead_processes_on_this_host_are_closed_and_no_others(project):
    """A SIGKILLed run is closed as KILLED with its reason by the next sweep, not left RUNNING."""
    client = client_for(project)
    experiment = ensure_experiment(client, "orphans", project)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = start_run(client, experiment, "orphan", tags={OWNER_PID_TAG: dead.stdout.strip()})
    live = start_run(client, experiment, "live")  # owned by this process
    elsewhere = start_run(
        client, experiment, "elsewhere", tags={OWNER_HOST_TAG: "another-host", OWNER_PID_TAG: dead.stdout.strip()}
    )
    assert close_orphaned_runs(client, experiment) == [orphan.run_id]
    closed = client.get_run(orphan.run_id)
    assert closed.info.status == "KILLED"
    assert closed.data.tags["betavae.failure_reason"].startswith(f"process {dead.stdout.strip()} on ")
    assert {client.get_run(r.run_id).info.status for r in (live, elsewhere)} == {"RUNNING"}
    assert client.get_run(live.run_id).data.tags[OWNER_PID_TAG] == str(os.getpid())


def test_a_pulled_package_pins_the_versions_that_trained_it(project, tmp_path):
    from importlib.metadata import version

    from betavae.tracking.model_package import REQUIREMENTS

    assert main(["--root", str(project), "pull", "tiny", "--out", str(tmp_path / "model")]) == 0
    lines = (tmp_path / "model" / "requirements.txt").read_text().split()
    pins = dict(line.split("==") for line in lines if not line.startswith("-"))
    assert pins == {name: version(name).split("+")[0] for name in REQUIREMENTS}


MARKER_CODE = "\nimport pathlib; pathlib.Path({marker!r}).write_text('the package ran its own code')\n"


def _tampered_package(project, tmp_path) -> tuple:
    """A pulled package whose bundled code (model file and every `betavae` module) writes a marker when run."""
    folder = tmp_path / "model"
    assert main(["--root", str(project), "pull", "tiny", "--out", str(folder)]) == 0
    marker = tmp_path / "ran.txt"
    code = [p for p in folder.rglob("*.py")]
    assert any(p.name == "__init__.py" and p.parent.name == "betavae" for p in code) and len(code) > 20
    for path in code:
        path.write_text(path.read_text() + MARKER_CODE.format(marker=str(marker)))
    return folder, marker


def _cli(args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "betavae.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_a_package_with_altered_code_is_loaded_and_served_without_running_that_code(project, tmp_path):
    folder, marker = _tampered_package(project, tmp_path)
    images = tmp_path / "x.npy"
    np.save(images, np.ones((2, 28, 28), dtype=np.uint8))
    done = _cli(["encode", str(folder), "--images", str(images)], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 images x 4 latents" in done.stdout and not marker.exists()
    serve, port, server = start_server(tmp_path, str(folder))
    try:
        status, body = post(port, {"inputs": np.ones((2, 28, 28, 1), dtype=np.uint8).tolist()})
        assert status == 200 and np.asarray(body["predictions"]).shape == (2, 4)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
        assert wait_gone(server)
    assert not marker.exists()
    # the oracle: MLflow's own loader does run the package's code, so the marker shows it would be seen
    loaded = subprocess.run(
        [sys.executable, "-c", f"import mlflow; mlflow.pyfunc.load_model({str(folder)!r})"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert marker.exists(), loaded.stderr[-2000:]


def test_altered_weights_or_another_writing_version_are_refused_in_one_line(project, tmp_path, capsys):
    folder = tmp_path / "model"
    assert main(["--root", str(project), "pull", "tiny", "--out", str(folder)]) == 0
    images = tmp_path / "x.npy"
    np.save(images, np.ones((2, 28, 28), dtype=np.uint8))
    manifest_path = next(folder.rglob("betavae_manifest.json"))
    manifest = json.loads(manifest_path.read_text())
    capsys.readouterr()

    manifest_path.write_text(json.dumps({**manifest, "betavae_version": "0.0.1"}))
    assert main(["encode", str(folder), "--images", str(images)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {folder} was written by betavae 0.0.1, this is betavae ") and err.count("\n") == 1
    assert "pass --allow-other-version to load it with this one" in err
    assert main(["encode", str(folder), "--images", str(images), "--allow-other-version"]) == 0
    capsys.readouterr()

    manifest_path.write_text(json.dumps(manifest))
    weights = next(folder.rglob("weights.pt"))
    weights.write_bytes(weights.read_bytes() + b"\0")
    for args in (["encode", str(folder), "--images", str(images)], ["serve", str(folder)]):
        assert main(args) == 1
        err = capsys.readouterr().err
        assert "differs from the manifest's" in err and "the package was altered after it was logged" in err
        assert err.startswith(f"error: {folder}: the weights' SHA-256 ") and err.count("\n") == 1

    manifest_path.unlink()
    assert main(["encode", str(folder), "--images", str(images)]) == 1
    assert (
        "has no betavae_manifest.json: it was written by a betavae older than the manifest" in capsys.readouterr().err
    )


def test_a_conditional_model_is_pulled_with_its_class_or_refused_in_one_line(tmp_path, capsys):
    """`betavae encode|decode --condition k` give a registered conditional VAE the class of every image; without
    one, or with a class it lacks, the command exits 1 with one `error:` line."""
    register_tiny_model(tmp_path, conditional=True)
    latents = tmp_path / "z.npy"
    np.save(latents, np.zeros((2, 4), dtype=np.float32))
    decoded = {}
    for k in (0, 2):
        out = tmp_path / f"x{k}.npy"
        assert (
            main(
                [
                    "--root",
                    str(tmp_path),
                    "decode",
                    "tiny",
                    "--latents",
                    str(latents),
                    "--out",
                    str(out),
                    "--condition",
                    str(k),
                ]
            )
            == 0
        )
        decoded[k] = np.load(out)
    assert decoded[0].shape == (2, 28, 28, 1) and not np.array_equal(decoded[0], decoded[2])
    capsys.readouterr()
    for extra, expected in (
        ([], "pass params.condition, a class in 0..2"),
        (["--condition", "3"], "params.condition 3: classes of 'label' are 0..2"),
    ):
        assert (
            main(["--root", str(tmp_path), "encode", "tiny", "--images", write(tmp_path / "i.npy", ones), *extra]) == 1
        )
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expected in err and "Traceback" not in err, err
    assert (
        main(["--root", str(tmp_path), "encode", "tiny", "--images", str(tmp_path / "i.npy"), "--condition", "1"]) == 0
    )
    assert "2 images x 4 latents" in capsys.readouterr().out
