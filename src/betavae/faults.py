"""Faults on request at named points of a stage, so tests interrupt work where the code is, not when a clock says.

Two environment variables, read each time a point is reached (unset in normal use, so a point costs one
dictionary look-up):

``BETAVAE_FAULT=<stage>:<point>[:<n>]``
    The stage's process kills itself with SIGKILL the ``n``-th time (default 1) it reaches ``point``, the way
    an out-of-memory killer or a lost node would stop it: no handler, no clean-up, no exit code of its own.

``BETAVAE_PAUSE=<stage>:<point>:<gate>``
    The first time the stage reaches ``point`` it creates ``<gate>.reached`` and waits until the file
    ``<gate>`` exists (at most :data:`PAUSE_LIMIT_S`), so a test can act while the stage is held at a known
    place (start a second process against the same lock, inspect partial outputs) and then release it.

``<stage>`` is the name the entry point gave :func:`enter_stage` (``pipelines/common.py`` uses the stage
module's name: ``acquire``, ``validate``, ``train``, ``evaluate``, ``render``, ``register``, ``report``).

Points (:data:`POINTS`):

- ``output-written``: an output file has just replaced its final path (:func:`betavae.io.atomic_path`);
- ``dataset-staged``: a dataset's temporary folder holds its first file, before it takes the final name;
- ``checkpoint-written``: a training checkpoint (the state a run resumes from) is complete on disk;
- ``registry-locked``: a register call holds the registry lock of a model name, before it reads the registry;
- ``model-version-created``: the registry has a new model version, before any alias points at it.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

from betavae.errors import ConfigError

FAULT_ENV = "BETAVAE_FAULT"
PAUSE_ENV = "BETAVAE_PAUSE"
POINTS = ("output-written", "dataset-staged", "checkpoint-written", "registry-locked", "model-version-created")
PAUSE_LIMIT_S = 600.0

_stage: str | None = None
_reached: Counter[str] = Counter()


def enter_stage(name: str) -> None:
    """Name the stage this process runs; faults addressed to another stage are ignored."""
    global _stage
    _stage = name
    _reached.clear()
    for env in (FAULT_ENV, PAUSE_ENV):
        if os.environ.get(env):
            _parse(env, os.environ[env])  # a mistyped request fails at the start, not silently never


def _parse(env: str, spec: str) -> tuple[str, str, str]:
    parts = spec.split(":", 2)
    if len(parts) < 2 or not parts[0] or parts[1] not in POINTS:
        raise ConfigError(f"{env}={spec!r}: expected <stage>:<point>[:...] with a point among {POINTS}")
    stage, point, rest = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    if env == FAULT_ENV and rest and not (rest.isdigit() and int(rest) >= 1):
        raise ConfigError(f"{env}={spec!r}: the count after the point must be a whole number >= 1, got {rest!r}")
    if env == PAUSE_ENV and not rest:
        raise ConfigError(f"{env}={spec!r}: expected <stage>:<point>:<gate file>")
    return stage, point, rest


def reached(point: str) -> None:
    """Mark that this process reached `point`; kill or hold it there if the environment asks for it."""
    if _stage is None or not (os.environ.get(FAULT_ENV) or os.environ.get(PAUSE_ENV)):
        return
    _reached[point] += 1
    fault = os.environ.get(FAULT_ENV)
    if fault:
        stage, at, count = _parse(FAULT_ENV, fault)
        if stage == _stage and at == point and _reached[point] == int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_ENV)
    if pause:
        stage, at, gate = _parse(PAUSE_ENV, pause)
        if stage == _stage and at == point and _reached[point] == 1:
            _hold(Path(gate))


def _hold(gate: Path) -> None:
    gate.with_name(gate.name + ".reached").touch()
    deadline = time.monotonic() + PAUSE_LIMIT_S
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
