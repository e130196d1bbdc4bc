"""The ASGI app `betavae serve` runs under uvicorn: MLflow's scoring server around a package loaded with
installed code (:func:`betavae.serving.trusted.load_package`), never the package's own code.

The package folder and whether another writing version is accepted come from the environment that
:func:`betavae.serving.server.server_command` sets.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlflow.pyfunc import scoring_server

from betavae.serving.trusted import ALLOW_OTHER_VERSION_ENV, MODEL_ENV, load_package

app = scoring_server.init(
    load_package(Path(os.environ[MODEL_ENV]), allow_other_version=os.environ.get(ALLOW_OTHER_VERSION_ENV) == "1")
)
