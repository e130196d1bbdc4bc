"""MLflow tracking and the model registry.

- :mod:`~betavae.tracking.tags`: the name of every tag the project sets on runs and model versions.
- :mod:`~betavae.tracking.client`: the store (`mlflow.db`/`mlruns/` or `MLFLOW_TRACKING_URI`), experiments,
  and :class:`RunLogger`, which logs to one run by id from any thread.
- :mod:`~betavae.tracking.runs`: train one configuration as a run nested under its sweep's parent.
- :mod:`~betavae.tracking.model_package`: the pyfunc encoder each finished run logs.
- :mod:`~betavae.tracking.sweep_record`: the typed `sweep.json` (:class:`SweepRecord` of :class:`RunRecord`).
- :mod:`~betavae.tracking.registry`: the best run becomes `betavae-<dataset>@<alias>`; loading it back.
"""
