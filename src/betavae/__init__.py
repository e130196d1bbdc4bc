"""betavae: training, evaluating and shipping beta-VAEs (Higgins et al. 2017) and their family.

Packages: `config` (validated params.yaml sections), `data` (ground truth, storage, importers),
`models` (networks, objectives and their registry), `training` (engine, checkpoints), `metrics`
(one module per disentanglement metric), `evaluation` (scoring, baselines, the Fig. 5 table, UDR),
`tracking` (MLflow runs, sweep record, registry), `render` and `report` (pictures, HTML report),
`serving` (the pyfunc model and server); `paths` names every project path. See README "Layout".
"""

__version__ = "0.1.0"
