"""DVC stage entry points and Prefect flows. Each reads `params.yaml` and calls into `betavae`.

Importing this package first sets the embedded Prefect defaults (before `prefect` itself is imported,
which reads its settings once): without `PREFECT_API_URL`, flows run against a temporary local server
whose state lives in `.prefect/` inside the project, analytics are off (the machines may have no
internet), and the server gets 120 s to start on a busy machine instead of 20.
"""

import os

from betavae.paths import ProjectPaths, project_root

os.environ.setdefault("PREFECT_HOME", str(ProjectPaths(project_root()).prefect_home))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
