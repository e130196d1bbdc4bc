"""A failed retrain reaches a person: `python -m pipelines.alerts` against a real Prefect server (with its
trigger and action services), a flow run of `retrain` that fails, and the message at a local webhook."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from queue import Empty, Queue

import pytest

from tests.helpers.project_copy import ROOT, clean_env
from tests.integration.services import Services

pytestmark = pytest.mark.slow

FAILING_RETRAIN = """
from prefect import flow

@flow(name="retrain")
def retrain(dataset: str) -> None:
    raise RuntimeError("the GPU workers lost their data")

retrain("dsprites")
"""


@pytest.fixture
def webhook():
    """A local HTTP server; yields (url, queue of the JSON bodies it was posted)."""
    received: Queue = Queue()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    finally:
        server.shutdown()
        thread.join(10)


def test_a_failed_retrain_posts_its_name_state_and_reason_to_the_webhook(tmp_path, webhook):
    url, received = webhook
    services = Services(tmp_path)
    env = clean_env(ROOT) | {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_UI_ENABLED": "false"}
    try:
        env["PREFECT_API_URL"] = services.prefect(env, tmp_path)
        created = subprocess.run(
            [sys.executable, "-m", "pipelines.alerts"],
            cwd=ROOT,
            env=env | {"BETAVAE_ALERT_WEBHOOK_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert created.returncode == 0, created.stderr[-3000:]
        assert "automation betavae-retrain-failed" in created.stdout and url not in created.stdout + created.stderr
        failed = subprocess.run(
            [sys.executable, "-c", FAILING_RETRAIN], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert failed.returncode != 0 and "the GPU workers lost their data" in failed.stderr
        try:
            message = received.get(timeout=90)  # the server's trigger and action services send it
        except Empty:
            pytest.fail(f"no message reached the webhook; server log:\n{services.log('prefect-server')[-3000:]}")
        assert message["subject"].startswith("betavae: retrain ") and message["subject"].endswith(" ended Failed")
        assert "the GPU workers lost their data" in message["body"] and "'dataset': 'dsprites'" in message["body"]
        assert received.empty()  # one failure, one message
    finally:
        alive = services.stop_all()
        assert not alive, f"still running: {alive}"


def test_the_alerts_command_refuses_a_missing_or_bad_webhook_url(tmp_path):
    env = clean_env(ROOT) | {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
    for value, expected in (
        ("", "error: set BETAVAE_ALERT_WEBHOOK_URL to the webhook that should receive the alerts"),
        ("ftp://x", "error: BETAVAE_ALERT_WEBHOOK_URL must be an http(s) URL, got a value starting 'ftp://x'"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.alerts"],
            cwd=ROOT,
            env=env | {"BETAVAE_ALERT_WEBHOOK_URL": value},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1 and done.stderr.strip() == expected
