"""DVC stage entry points and Prefect flows. Each reads `params.yaml` and calls into `betavae`."""
