"""A checkpoint is one transaction (run.checkpoints), in process: a tiny tf.train.Checkpoint
of one variable, metrics.csv written by MetricsLog, and a fake replay store whose copy is a
folder under replay/. The same behaviours through the real command line, with Reverb, are
in test_crash_safety."""

from __future__ import annotations

import json
import os
import zlib

import pytest
import tensorflow as tf

from tfa_recipes.errors import RecipeError
from tfa_recipes.run.checkpoints import REVERB_STAGING, Checkpoints, stage_reverb_copy
from tfa_recipes.run.directory import MetricsLog, RunDir

PROGRESS = {"random_average_return": 21.5, "best_policy": {"iteration": 2, "average_return": 9.0}}


class FakeReplay:
    """A ReplayStore whose save writes one file into a new folder replay/copy-<k>/."""

    def __init__(self, run: RunDir, items: int = 42) -> None:
        self.run, self.items, self.saves = run, items, 0

    def save(self):
        self.saves += 1
        folder = self.run.replay_dir / f"copy-{self.saves}"
        folder.mkdir(parents=True)
        (folder / "table.tfrecord").write_bytes(b"items %d" % self.saves)
        return folder

    def num_items(self) -> int:
        return self.items

    def saved_items(self) -> int | None:
        return self.items


class InGraphReplay(FakeReplay):
    """A buffer saved inside the TensorFlow checkpoint: nothing written outside it."""

    def save(self):
        return None

    def saved_items(self) -> int | None:
        return None


@pytest.fixture
def run(tmp_path) -> RunDir:
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    return run


@pytest.fixture
def weight() -> tf.Variable:
    return tf.Variable(1.0)


@pytest.fixture
def agent(weight) -> tf.train.Checkpoint:
    return tf.train.Checkpoint(weight=weight)


def log(run: RunDir, *iterations: int) -> None:
    metrics = MetricsLog(run.metrics_csv)
    for iteration in iterations:
        metrics.append(iteration=iteration, loss=0.5 + iteration, EnvironmentSteps=10 * iteration)


def save(checkpoints: Checkpoints, agent, iteration: int, replay=None):
    log(checkpoints.run, iteration)
    return checkpoints.save(
        agent.write,
        iteration=iteration,
        environment_steps=10 * iteration,
        replay=replay,
        progress=PROGRESS,
    )


def checkpoint_files(run: RunDir, iteration: int) -> list[str]:
    return sorted(
        path.relative_to(run.path).as_posix()
        for path in run.checkpoint_dir.iterdir()
        if path.name.startswith((f"ckpt-{iteration}.", f"metrics-{iteration}."))
    )


def published(run: RunDir) -> list[str]:
    return sorted(path.name for path in run.checkpoint_dir.glob("manifest-*.json"))


def contents(run: RunDir) -> dict[str, bytes]:
    return {
        path.relative_to(run.path).as_posix(): path.read_bytes()
        for path in run.path.rglob("*")
        if path.is_file()
    }


def truncate(path) -> None:
    path.write_bytes(path.read_bytes()[:-1])


def flip_a_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def delete(path) -> None:
    path.unlink()


DAMAGES = {"truncated": truncate, "a byte flipped": flip_a_byte, "deleted": delete}
DAMAGE_LINES = {
    "truncated": "is not the file that was saved",
    "a byte flipped": "is not the file that was saved",
    "deleted": "is missing",
}


def test_a_save_publishes_a_manifest_naming_every_file_with_its_size_and_crc32(run, agent):
    save(Checkpoints(run), agent, 3)

    manifest = json.loads((run.checkpoint_dir / "manifest-3.json").read_text())

    assert sorted(manifest["files"]) == checkpoint_files(run, 3)
    assert "train/checkpoints/metrics-3.csv" in manifest["files"]
    for name, (size, crc) in manifest["files"].items():
        data = (run.path / name).read_bytes()
        assert [size, crc] == [len(data), zlib.crc32(data)], name
    assert manifest["agent"] == "train/checkpoints/ckpt-3"
    assert manifest["metrics"] == "train/checkpoints/metrics-3.csv"


def test_select_returns_the_published_checkpoint_with_its_counters_and_progress(run, agent):
    saved = save(Checkpoints(run), agent, 3)
    lines = []

    selected = Checkpoints(run).select(lines.append)

    assert selected == saved
    assert (selected.iteration, selected.environment_steps) == (3, 30)
    assert selected.progress == PROGRESS
    assert lines == []


def test_the_selected_agent_prefix_restores_the_saved_variables(run, agent, weight):
    save(Checkpoints(run), agent, 3)
    weight.assign(5.0)
    restored = tf.Variable(0.0)

    selected = Checkpoints(run).select(lambda line: None)
    tf.train.Checkpoint(weight=restored).read(str(run.path / selected.agent)).assert_consumed()

    assert restored.numpy() == 1.0


def test_a_fresh_run_has_no_checkpoint_to_select_and_says_nothing(run):
    lines = []

    assert Checkpoints(run).select(lines.append) is None
    assert lines == []


def test_a_first_save_cut_short_before_its_manifest_is_said_and_starts_from_zero(run, agent):
    run.checkpoint_dir.mkdir(parents=True)
    agent.write(str(run.checkpoint_dir / "ckpt-3"))
    lines = []

    assert Checkpoints(run).select(lines.append) is None
    assert len(lines) == 1
    assert "no published checkpoint" in lines[0]
    assert "starting from iteration 0" in lines[0]


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("part", ["ckpt-2.index", "ckpt-2.data-00000-of-00001", "metrics-2.csv"])
def test_a_damaged_newest_checkpoint_is_named_and_the_one_before_it_is_selected(
    run, agent, part, damage
):
    checkpoints = Checkpoints(run)
    save(checkpoints, agent, 1)
    save(checkpoints, agent, 2)
    DAMAGES[damage](run.checkpoint_dir / part)
    lines = []

    selected = Checkpoints(run).select(lines.append)

    assert selected.iteration == 1
    assert lines == [
        f"the checkpoint of iteration 2 is damaged (train/checkpoints/{part} "
        f"{DAMAGE_LINES[damage]}); trying the one before it"
    ]


def test_an_unreadable_newest_manifest_is_named_and_the_one_before_it_is_selected(run, agent):
    checkpoints = Checkpoints(run)
    save(checkpoints, agent, 1)
    save(checkpoints, agent, 2)
    (run.checkpoint_dir / "manifest-2.json").write_text('{"iteration": 2,')
    lines = []

    assert Checkpoints(run).select(lines.append).iteration == 1
    assert lines == [
        "the checkpoint of iteration 2 is damaged (unreadable manifest: JSONDecodeError); "
        "trying the one before it"
    ]


def test_with_every_checkpoint_damaged_select_raises_and_leaves_the_files_as_they_were(
    run, agent
):
    checkpoints = Checkpoints(run)
    save(checkpoints, agent, 1)
    save(checkpoints, agent, 2)
    flip_a_byte(run.checkpoint_dir / "ckpt-1.data-00000-of-00001")
    delete(run.checkpoint_dir / "ckpt-2.index")
    before = contents(run)
    lines = []

    with pytest.raises(RecipeError) as raised:
        Checkpoints(run).select(lines.append)

    assert str(raised.value) == (
        f"cannot restore the checkpoint in {run.checkpoint_dir}: manifest-2.json: "
        "train/checkpoints/ckpt-2.index is missing, and there is no intact one before it; "
        "the run's files were left as they are"
    )
    assert [line.split(" is damaged")[0] for line in lines] == [
        "the checkpoint of iteration 2",
        "the checkpoint of iteration 1",
    ]
    assert contents(run) == before


def test_the_last_good_checkpoint_survives_until_the_save_after_its_successor(run, agent):
    checkpoints = Checkpoints(run)
    save(checkpoints, agent, 1)
    files_of_1 = checkpoint_files(run, 1)

    save(checkpoints, agent, 2)
    assert published(run) == ["manifest-1.json", "manifest-2.json"]
    assert checkpoint_files(run, 1) == files_of_1

    save(checkpoints, agent, 3)
    assert published(run) == ["manifest-2.json", "manifest-3.json"]
    assert checkpoint_files(run, 1) == []


def test_a_resume_keeps_the_checkpoint_it_restored_while_it_writes_the_next(run, agent):
    first = Checkpoints(run)
    for iteration in (1, 2, 3):
        save(first, agent, iteration)
    resumed = Checkpoints(run)
    resumed.select(lambda line: None)

    save(resumed, agent, 4)

    assert published(run) == ["manifest-3.json", "manifest-4.json"]
    assert checkpoint_files(run, 2) == []


def test_a_save_of_the_iteration_just_published_returns_it_without_rewriting_it(run, agent):
    checkpoints = Checkpoints(run)
    first = save(checkpoints, agent, 3)
    manifest = run.checkpoint_dir / "manifest-3.json"
    written = manifest.stat().st_mtime_ns

    assert save(checkpoints, agent, 3) is first
    assert manifest.stat().st_mtime_ns == written


def test_newest_iteration_is_the_last_published_or_selected_one(run, agent):
    checkpoints = Checkpoints(run)
    assert checkpoints.newest_iteration() is None
    save(checkpoints, agent, 2)
    assert checkpoints.newest_iteration() == 2

    resumed = Checkpoints(run)
    resumed.select(lambda line: None)
    assert resumed.newest_iteration() == 2


def test_restore_metrics_puts_back_lost_rows_and_says_so(run, agent):
    log(run, 0, 1)
    manifest = save(Checkpoints(run), agent, 2)
    saved = run.metrics_csv.read_bytes()
    MetricsLog(run.metrics_csv).start()  # the header alone: every row lost

    assert Checkpoints(run).restore_metrics(manifest) is True
    assert run.metrics_csv.read_bytes() == saved


def test_restore_metrics_puts_back_changed_rows_and_says_so(run, agent):
    log(run, 0, 1)
    manifest = save(Checkpoints(run), agent, 2)
    saved = run.metrics_csv.read_bytes()
    run.metrics_csv.write_bytes(saved.replace(b"1.5", b"9.5"))

    assert Checkpoints(run).restore_metrics(manifest) is True
    assert run.metrics_csv.read_bytes() == saved


def test_restore_metrics_puts_back_a_deleted_file_and_says_so(run, agent):
    log(run, 0, 1)
    manifest = save(Checkpoints(run), agent, 2)
    saved = run.metrics_csv.read_bytes()
    run.metrics_csv.unlink()

    assert Checkpoints(run).restore_metrics(manifest) is True
    assert run.metrics_csv.read_bytes() == saved


def test_restore_metrics_drops_rows_logged_after_the_checkpoint_without_saying_so(run, agent):
    log(run, 0, 1)
    manifest = save(Checkpoints(run), agent, 2)
    saved = run.metrics_csv.read_bytes()
    log(run, 3)

    assert Checkpoints(run).restore_metrics(manifest) is False
    assert run.metrics_csv.read_bytes() == saved
    assert [row["iteration"] for row in MetricsLog(run.metrics_csv).rows()] == [0, 1, 2]


def test_newest_published_is_the_newest_manifests_iteration_without_reading_files(run, agent):
    checkpoints = Checkpoints(run)
    assert checkpoints.newest_published() is None
    save(checkpoints, agent, 1)
    save(checkpoints, agent, 2)
    delete(run.checkpoint_dir / "ckpt-2.index")
    (run.checkpoint_dir / "manifest-7.json").write_text("not json")

    assert Checkpoints(run).newest_published() == 7


def test_a_replay_copy_is_part_of_the_manifest(run, agent):
    replay = FakeReplay(run, items=42)

    manifest = save(Checkpoints(run), agent, 1, replay=replay)

    data = b"items 1"
    assert manifest.replay == "replay/copy-1"
    assert manifest.replay_items == 42
    assert manifest.files["replay/copy-1/table.tfrecord"] == [len(data), zlib.crc32(data)]
    assert json.loads((run.checkpoint_dir / "manifest-1.json").read_text())["replay"] == (
        "replay/copy-1"
    )


def test_a_replay_saved_in_the_tensorflow_checkpoint_adds_no_folder(run, agent):
    manifest = save(Checkpoints(run), agent, 1, replay=InGraphReplay(run))

    assert (manifest.replay, manifest.replay_items) == (None, None)
    assert sorted(manifest.files) == checkpoint_files(run, 1)


def test_a_damaged_replay_copy_makes_its_checkpoint_damaged(run, agent):
    checkpoints, replay = Checkpoints(run), FakeReplay(run)
    save(checkpoints, agent, 1, replay=replay)
    save(checkpoints, agent, 2, replay=replay)
    flip_a_byte(run.replay_dir / "copy-2" / "table.tfrecord")
    lines = []

    assert Checkpoints(run).select(lines.append).iteration == 1
    assert "replay/copy-2/table.tfrecord is not the file that was saved" in lines[0]


def test_a_deleted_replay_copy_does_not_damage_its_checkpoint(run, agent):
    # The warm-up refills a table whose copy is gone, as in any run.
    checkpoints, replay = Checkpoints(run), FakeReplay(run)
    save(checkpoints, agent, 1, replay=replay)
    save(checkpoints, agent, 2, replay=replay)
    for file in (run.replay_dir / "copy-2").iterdir():
        file.unlink()
    (run.replay_dir / "copy-2").rmdir()
    lines = []

    assert Checkpoints(run).select(lines.append).iteration == 2
    assert lines == []


def test_replay_copies_go_with_their_checkpoint_and_unpublished_ones_at_the_next_save(
    run, agent
):
    checkpoints, replay = Checkpoints(run), FakeReplay(run)
    save(checkpoints, agent, 1, replay=replay)
    save(checkpoints, agent, 2, replay=replay)
    (run.replay_dir / "cut-short").mkdir()  # a copy whose save never published

    save(checkpoints, agent, 3, replay=replay)

    copies = sorted(path.name for path in run.replay_dir.iterdir())
    assert copies == ["copy-2", "copy-3"]


def test_stage_reverb_copy_links_the_copy_where_reverb_loads_and_empties_the_rest(tmp_path):
    replay_dir = tmp_path / "replay"
    copy = replay_dir / "copy-1"
    copy.mkdir(parents=True)
    (copy / "table.tfrecord").write_bytes(b"items")
    stale = replay_dir / REVERB_STAGING / "cut-short"
    stale.mkdir(parents=True)

    stage_reverb_copy(replay_dir, copy)

    staged = replay_dir / REVERB_STAGING / "copy-1" / "table.tfrecord"
    assert sorted(path.name for path in (replay_dir / REVERB_STAGING).iterdir()) == ["copy-1"]
    assert os.path.samefile(staged, copy / "table.tfrecord")


@pytest.mark.parametrize("copy", [None, "gone"])
def test_stage_reverb_copy_without_a_copy_leaves_reverb_nothing_to_load(tmp_path, copy):
    replay_dir = tmp_path / "replay"
    (replay_dir / REVERB_STAGING / "cut-short").mkdir(parents=True)

    stage_reverb_copy(replay_dir, None if copy is None else replay_dir / copy)

    assert not (replay_dir / REVERB_STAGING).exists()


def test_stage_replay_stages_the_selected_checkpoints_copy(run, agent):
    checkpoints, replay = Checkpoints(run), FakeReplay(run)
    save(checkpoints, agent, 1, replay=replay)
    save(checkpoints, agent, 2, replay=replay)
    flip_a_byte(run.checkpoint_dir / "ckpt-2.index")
    resumed = Checkpoints(run)

    resumed.stage_replay(resumed.select(lambda line: None))

    assert [path.name for path in (run.replay_dir / REVERB_STAGING).iterdir()] == ["copy-1"]
