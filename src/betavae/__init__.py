"""betavae: training, evaluating and shipping beta-VAEs (Higgins et al. 2017) and their family.

Packages: `config` (validated params.yaml sections, the settings of every metric), `data` (ground truth,
storage, importers), `models` (networks, objectives and their registry), `training` (engine,
checkpoints), `metrics` (one module per disentanglement metric), `evaluation` (scoring, baselines, the
Fig. 5 table, UDR), `tracking` (MLflow runs, sweep record, registry), `render` and `report` (pictures,
HTML report), `serving` (the pyfunc model and server); `paths` names every project path. See README
"Layout".

Floor plan, top to bottom; a module imports only from its own package and from the floors below it
(function-local imports included), and packages on one floor do not import each other:

    cli
    render | report | serving
    evaluation | tracking
    training
    metrics | models
    data
    config
    processes
    io
    faults | paths
    errors

The stages in `pipelines/` sit above all of it; the library never imports them. Since a DVC stage's
deps are its import closure, the order is what keeps a change in its place: `config` holds the plain
settings of the metrics, so the train stage validates `evaluate` without importing a metric, and
editing a metric re-runs evaluation, not training. `pyproject.toml [tool.importlinter]` states these
contracts and `tests/test_layers.py` checks them.
"""

__version__ = "0.1.0"
