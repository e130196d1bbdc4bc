"""What users see of a finished `dvc repro`: the HTML report in a browser, the MLflow UI, `dvc plots`.

Uses the session's end-to-end project (`repro_project` in conftest.py). The report is opened from disk
in headless Chromium; the MLflow UI is served by a real `mlflow server` on 127.0.0.1 and checked both
through its REST API and in Chromium (the model-training runs table with dataset, source and model).
"""

from __future__ import annotations

import io
import json
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.chromium import Chromium
from tests.helpers.project_copy import BIN, free_port, run_ok

pytestmark = pytest.mark.slow

RUNS = ["beta_vae-beta=1-seed=0", "beta_vae-beta=4-seed=0"]
RUN_PICTURES = {
    "traversal",
    "traversal_gif",
    "reconstructions",
    "prior_samples",
    "kl_per_latent",
    "losses",
    "factor_response",
    "snapshots",  # train.snapshots: [15]
}  # no latent scatter: the test model has 4 latents

COLUMN_VALUES = """(name => {
  const table = document.getElementById('runs-table');
  const col = Array.from(table.tHead.rows[0].cells).findIndex(th => th.textContent.trim() === name);
  return Array.from(table.tBodies[0].rows).map(r => r.cells[col].getAttribute('data-value'));
})"""


def test_report_is_self_contained(repro_project):
    dest, _ = repro_project
    page = (dest / "reports/blobs/index.html").read_text()
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert 'src="http' not in page and "url(http" not in page
    assert page.count('<img src="data:image/') == len(RUNS) * len(RUN_PICTURES) + 4  # 4 sweep plots
    for section in ("fig5", "runs", "sweep", "pictures", "validation", "lineage"):
        assert f'id="{section}"' in page
    registered = json.loads((dest / "models/blobs/registered.json").read_text())
    assert registered["run_id"] in page and f"version {registered['version']}" in page


def test_report_in_chromium_decodes_every_image_and_sorts(repro_project, tmp_path):
    dest, _ = repro_project
    scores = json.loads((dest / "metrics/blobs/scores.json").read_text())
    with Chromium(tmp_path) as browser:
        page = browser.page()
        page.navigate((dest / "reports/blobs/index.html").as_uri())
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
        assert len(images) == len(RUNS) * len(RUN_PICTURES) + 4
        assert all(complete and width > 0 for complete, width, _ in images), images
        assert page.evaluate(f"{COLUMN_VALUES}('run')") == RUNS  # sweep order before sorting

        page.evaluate(
            "Array.from(document.querySelectorAll('#runs-table th')).find(th => th.textContent === 'mig.score').click()"
        )
        by_mig = sorted(RUNS, key=lambda r: scores[r]["mig.score"])
        assert page.evaluate(f"{COLUMN_VALUES}('run')") == by_mig
        assert [float(v) for v in page.evaluate(f"{COLUMN_VALUES}('mig.score')")] == sorted(
            scores[r]["mig.score"] for r in RUNS
        )
        page.evaluate(
            "Array.from(document.querySelectorAll('#runs-table th')).find(th => th.textContent === 'mig.score').click()"
        )
        assert page.evaluate(f"{COLUMN_VALUES}('run')") == by_mig[::-1]

        shot = Image.open(io.BytesIO(page.screenshot())).convert("L")
        page.close()
    pixels = np.asarray(shot, dtype=np.float64)
    assert shot.size[0] >= 800 and pixels.std() > 10 and len(np.unique(pixels)) > 50  # text and a table, not blank


def test_pictures_and_comparison_are_logged_to_mlflow(repro_project):
    dest, _ = repro_project
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{dest / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    sweep = json.loads((dest / "models/blobs/sweep.json").read_text())
    for record in sweep["runs"]:
        traversals = {a.path for a in client.list_artifacts(record["run_id"], "traversals")}
        assert traversals == {"traversals/traversal.png", "traversals/traversal.gif"}
        pictures = {a.path.split("/")[-1] for a in client.list_artifacts(record["run_id"], "pictures")}
        assert pictures == {f"{k}.png" for k in RUN_PICTURES - {"traversal", "traversal_gif"}}
        logged_images = {a.path for a in client.list_artifacts(record["run_id"], "images")}
        assert len(logged_images) >= 2 * (len(RUN_PICTURES) - 1)  # each PNG and its thumbnail
    parent = sweep["parent_run_id"]
    assert {a.path for a in client.list_artifacts(parent, "sweep")} == {
        "sweep/tradeoff.png",
        "sweep/metric_vs_beta.png",
        "sweep/score_distribution.png",
        "sweep/over_training.png",
    }
    table = json.loads(Path(client.download_artifacts(parent, "comparison.json")).read_text(encoding="utf-8"))
    rows = [dict(zip(table["columns"], row)) for row in table["data"]]
    assert [r["run"] for r in rows] == RUNS and [r["train.beta"] for r in rows] == [1.0, 4.0]


def test_dvc_plots_render_losses_scores_and_traversals(repro_project):
    dest, env = repro_project
    shown = json.loads(run_ok([str(BIN / "dvc"), "plots", "show", "--json"], dest, env).stdout)
    assert not shown.get("errors"), shown.get("errors")
    data = shown["data"]
    for run in RUNS:
        loss = data[f"plots/blobs/curves/losses/{run}.csv"][0]
        assert loss["type"] == "vega" and {"total", "reconstruction", "kl"} <= set(loss["content"]["data"]["values"][0])
        assert data[f"plots/blobs/traversals/{run}.png"][0]["type"] == "image"
    beta = data["BetaVAE score against beta"][0]["content"]["data"]["values"]
    assert sorted(float(v["train_beta"]) for v in beta) == [1.0, 4.0]


def _get(url: str, payload: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode() if payload is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def mlflow_server(repro_project):
    dest, env = repro_project
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{dest / 'mlflow.db'}",
            "--artifacts-destination",
            str(dest / "mlruns"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=dest,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mlflow server did not answer /health within 120 s") from None
                time.sleep(0.5)
        yield base
    finally:
        import os
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def test_mlflow_ui_shows_training_runs_with_dataset_source_and_model(repro_project, mlflow_server, tmp_path):
    dest, env = repro_project
    api = f"{mlflow_server}/api/2.0/mlflow"
    experiment = _get(f"{api}/experiments/get-by-name?experiment_name=betavae-blobs")["experiment"]
    assert {t["key"]: t["value"] for t in experiment["tags"]}["mlflow.experimentKind"] == "custom_model_development"
    runs = _get(f"{api}/runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
    commit = run_ok(["git", "rev-parse", "HEAD"], dest, env).stdout.strip()
    sweep = json.loads((dest / "models/blobs/sweep.json").read_text())
    by_id = {r["info"]["run_id"]: r for r in runs}
    tags = {rid: {t["key"]: t["value"] for t in r["data"]["tags"]} for rid, r in by_id.items()}
    parent_name = by_id[sweep["parent_run_id"]]["info"]["run_name"]
    assert parent_name.startswith("test-sweep train.beta=1,4 seeds=0 20")  # what was swept, then when
    parent_names = [r["info"]["run_name"] for rid, r in by_id.items() if tags[rid].get("betavae.sweep") == "true"]
    assert len(set(parent_names)) == len(parent_names)
    (parent_input,) = by_id[sweep["parent_run_id"]]["inputs"]["dataset_inputs"]
    assert parent_input["dataset"]["name"] == "blobs" and len(parent_input["dataset"]["digest"]) == 16
    registered = json.loads((dest / "models/blobs/registered.json").read_text())
    children = {r["name"]: by_id[r["run_id"]] for r in sweep["runs"]}
    assert sorted(children) == RUNS
    for run in children.values():
        own = tags[run["info"]["run_id"]]
        assert own["mlflow.source.git.commit"] == commit and own["mlflow.source.name"] == "pipelines/train.py"
        (dataset,) = run["inputs"]["dataset_inputs"]
        assert dataset["dataset"]["name"] == "blobs" and len(dataset["dataset"]["digest"]) == 16
        assert own["betavae.dataset_digest"].startswith(dataset["dataset"]["digest"])
        assert "data/datasets/blobs" in json.loads(dataset["dataset"]["source"])["uri"]
        (output,) = run["outputs"]["model_outputs"]
        model = _get(f"{api}/logged-models/{output['model_id']}")["model"]
        assert model["info"]["source_run_id"] == run["info"]["run_id"]
        metrics = {m["key"] for m in run["data"]["metrics"]}
        assert {"beta_vae.eval_accuracy", "mig.score", "reconstruction.log_likelihood"} <= metrics

    with Chromium(tmp_path, width=2400) as browser:
        page = browser.page()
        page.navigate(f"{mlflow_server}/#/experiments/{experiment['experiment_id']}/runs?workflowType=machine_learning")
        page.wait_for(f"document.body.innerText.includes({json.dumps(parent_name)})", timeout=90)
        assert page.evaluate("document.body.innerText.includes('Model training')")
        page.evaluate(f"""Array.from(document.querySelectorAll('[col-id="attributes.`Run Name`"]'))
            .find(c => c.innerText.includes({json.dumps(parent_name)})).querySelector('button').click()""")
        page.wait_for(f"document.body.innerText.includes({json.dumps(RUNS[1])})", timeout=60)
        cells = page.wait_for(
            """(() => {
            const rows = Array.from(document.querySelectorAll('.ag-center-cols-container [role=row]'));
            const text = rows.map(r => [r.getAttribute('row-id'), r.innerText.replace(/\\n/g, ' | ')]);
            return text.filter(([, t]) => t.includes('blobs (')).length === 3 ? text : null; })()""",
            timeout=60,
        )
        page.close()
    table_rows = dict(cells)
    assert "blobs (" in table_rows[sweep["parent_run_id"]]  # the sweep's parent names its dataset too
    for run in children.values():
        row = table_rows[run["info"]["run_id"]]
        assert "blobs (" in row and "Training" in row and "train.py" in row
        assert ("betavae-blobs" in row) == (run["info"]["run_id"] == registered["run_id"])
