"""`models/<dataset>/sweep.json` stays true in another clone: checkpoints inside the project are stored
relative to it and read back absolute against wherever the project now is."""

from __future__ import annotations

import json
import shutil

import pytest

from betavae.errors import DataError
from betavae.tracking.sweep_record import RunRecord, SweepRecord, read_sweep_record, write_sweep_record


def _record(checkpoint: str) -> SweepRecord:
    run = RunRecord("beta_vae-beta=4-seed=0", {"dataset": "blobs"}, "abc", "finished", checkpoint=checkpoint)
    return SweepRecord("blobs", "1", "parent", (run,))


def test_checkpoints_are_stored_relative_and_follow_a_moved_project(tmp_path):
    project = tmp_path / "a"
    checkpoint = project / "models/blobs/weights/run-1234/weights.pt"
    record_path = project / "models/blobs/sweep.json"
    record_path.parent.mkdir(parents=True)
    write_sweep_record(record_path, _record(str(checkpoint)))
    stored = json.loads(record_path.read_text())["runs"][0]["checkpoint"]
    assert stored == "models/blobs/weights/run-1234/weights.pt"
    assert read_sweep_record(record_path).runs[0].checkpoint == str(checkpoint)

    moved = shutil.copytree(project, tmp_path / "b")
    assert read_sweep_record(moved / "models/blobs/sweep.json").runs[0].checkpoint == str(
        moved / "models/blobs/weights/run-1234/weights.pt"
    )


def test_a_checkpoint_outside_the_project_stays_absolute(tmp_path):
    record_path = tmp_path / "p/models/blobs/sweep.json"
    record_path.parent.mkdir(parents=True)
    elsewhere = tmp_path / "scratch/weights.pt"
    write_sweep_record(record_path, _record(str(elsewhere)))
    assert json.loads(record_path.read_text())["runs"][0]["checkpoint"] == str(elsewhere)
    assert read_sweep_record(record_path).runs[0].checkpoint == str(elsewhere)


def test_a_malformed_record_names_the_stage_to_run(tmp_path):
    path = tmp_path / "p/models/blobs/sweep.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"dataset": "blobs", "runs": "nope"}))
    with pytest.raises(DataError, match="run the train stage again"):
        read_sweep_record(path)
