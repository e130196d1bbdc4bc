"""The names of the tags the project sets on MLflow runs and model versions: one home for every key.

Every `betavae.*` key is defined here and nowhere else, so a reader of the UI (or of a `search_runs`
filter) can find what writes a tag and what reads it. MLflow's own keys that the project sets or reads
(`mlflow.*`) are named here as well. Values are strings on the wire; the comments say what each holds.
"""

from __future__ import annotations

# --- MLflow's own keys ------------------------------------------------------------------------------------
PARENT_RUN_TAG = "mlflow.parentRunId"  # a configuration's run -> its sweep's parent run
RUN_NAME_TAG = "mlflow.runName"
SOURCE_NAME_TAG = "mlflow.source.name"  # the entry point that made the run (the UI's Source column)
SOURCE_TYPE_TAG = "mlflow.source.type"
GIT_COMMIT_SOURCE_TAG = "mlflow.source.git.commit"
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"  # on an experiment: which view the UI opens (betavae.tracking.ui)
DATASET_CONTEXT_TAG = "mlflow.data.context"  # on a dataset input: `training`

# --- what a run trains on ---------------------------------------------------------------------------------
CONFIG_DIGEST_TAG = "betavae.config_digest"  # RunConfig.digest: the configuration, seed included
DATASET_TAG = "betavae.dataset"  # the dataset's name in params.yaml (`dsprites`)
DATASET_DIGEST_TAG = "betavae.dataset_digest"  # sha256 of the stored images
OBJECTIVE_TAG = "betavae.objective"  # `beta_vae`, `beta_tcvae`, ...
SWEEP_TAG = "betavae.sweep"  # "true" on a sweep's parent run
SWEEP_NAME_TAG = "betavae.sweep_name"

# --- who owns a RUNNING run (see betavae.tracking.client.close_orphaned_runs) -----------------------------
OWNER_HOST_TAG = "betavae.owner_host"  # socket.gethostname() of the process that started the run
OWNER_PID_TAG = "betavae.owner_pid"  # its process id
OWNER_START_TAG = "betavae.owner_start"  # its start time as the OS records it, so a reused pid is told apart
OWNER_PID_SPACE_TAG = "betavae.owner_pid_space"  # machine id / pid namespace: where that pid can be looked up
HEARTBEAT_TAG = "betavae.heartbeat"  # Unix time (seconds) at which the owner last showed it was alive

# --- how a run ended --------------------------------------------------------------------------------------
OUTCOME_TAG = "betavae.outcome"  # finished | diverged | failed (RunRecord.status)
FAILURE_REASON_TAG = "betavae.failure_reason"  # the error, or why a stale run was closed
MODEL_URI_TAG = "betavae.model_uri"  # `models:/...` of the logged encoder package
DEVICE_TAG = "betavae.device"  # the torch device the run trained on
RESUMED_FROM_STEP_TAG = "betavae.resumed_from_step"  # 0 for a fresh start

# --- evaluation and pictures ------------------------------------------------------------------------------
NOTE_PREFIX = "betavae."  # + an evaluation note's key: `skipped.<metric>` (why not scored), `estimator.<metric>`
IMAGE_SHA256_PREFIX = "betavae.image_sha256."  # + a picture kind: `<sha256>@<step>` of the PNG last logged

# --- model versions in the registry (betavae.tracking.promotion) ------------------------------------------
RUN_ID_TAG = "betavae.run_id"  # the run the version was registered from
REGISTERED_RUN_NAME_TAG = "betavae.run_name"  # the run's name, copied onto the version
GIT_COMMIT_TAG = "betavae.git_commit"
METRIC_TAG = "betavae.metric"  # the score that selected the version
METRIC_VALUE_TAG = "betavae.metric_value"
METRIC_MODE_TAG = "betavae.metric_mode"  # max | min
SCORE_PREFIX = "betavae.score."  # + a score key: every score of the run
PARAM_PREFIX = "betavae.param."  # + a parameter key: the run's configuration
LIBRARY_PREFIX = "betavae.library."  # + a library name: its version (also on every training run)


def note_tag(key: str) -> str:
    """The tag of an evaluation note `key` (`skipped.udr` -> `betavae.skipped.udr`)."""
    return NOTE_PREFIX + key
