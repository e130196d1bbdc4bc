"""Create the Prefect automations of `pipelines/automations.yaml`: a message to a webhook when a retrain
fails, crashes, times out or is late.

    BETAVAE_ALERT_WEBHOOK_URL=https://hooks.example/... python -m pipelines.alerts

The webhook is saved as the notification block `betavae-alerts` (a Prefect custom webhook posting
`{"subject": ..., "body": ...}`); each automation of the file is created with that block's id, replacing
an automation of the same name, so running the command again updates them. The URL is read from the
environment, never from a file in the repository, and not printed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from betavae.errors import ConfigError
from pipelines.common import main_guard

AUTOMATIONS = Path(__file__).resolve().parent / "automations.yaml"
BLOCK_NAME = "betavae-alerts"
WEBHOOK_ENV = "BETAVAE_ALERT_WEBHOOK_URL"


def save_webhook(url: str) -> str:
    """Save `url` as the notification block :data:`BLOCK_NAME`; returns the block's id."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(
        name=BLOCK_NAME, url=url, method="POST", json_data={"subject": "{{subject}}", "body": "{{body}}"}
    )
    return str(block.save(BLOCK_NAME, overwrite=True))


def automation_specs(block_id: str, path: Path = AUTOMATIONS) -> list[dict[str, Any]]:
    """The automations of `path`, each notification action pointed at the block `block_id`."""
    specs = yaml.safe_load(path.read_text())["automations"]
    for spec in specs:
        for action in spec.get("actions", []):
            if action.get("type") == "send-notification":
                action["block_document_id"] = block_id
    return specs


def create_alerts(url: str, path: Path = AUTOMATIONS) -> list[str]:
    """Save the webhook and create (or replace) every automation of `path`; returns their names."""
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore

    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{WEBHOOK_ENV} must be an http(s) URL, got a value starting {url[:8]!r}")
    block_id = save_webhook(url)
    names = []
    with get_client(sync_client=True) as client:
        for spec in automation_specs(block_id, path):
            automation = AutomationCore.model_validate(spec)
            for old in client.read_automations_by_name(automation.name):
                client.delete_automation(old.id)
            client.create_automation(automation)
            names.append(automation.name)
    return names


def main() -> None:
    url = os.environ.get(WEBHOOK_ENV, "")
    if not url:
        raise ConfigError(f"set {WEBHOOK_ENV} to the webhook that should receive the alerts")
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise ConfigError("set PREFECT_API_URL to the Prefect server the retrain deployments run on")
    for name in create_alerts(url):
        print(f"automation {name}: notifies the webhook saved as block {BLOCK_NAME}")


if __name__ == "__main__":
    main_guard(main)
