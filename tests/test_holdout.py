"""--holdout, --kimg and --eval_every_kimg: the held-out split (a view, never a copy), D's sign on
training vs held-out images, evaluation against the held-out images keeping generator_best.keras,
--best in sample and evaluate, the memorisation warning and the folder presets."""

import contextlib
import glob
import io
import json
import os
import shutil

import numpy as np
import pytest

from kerasgan import config as config_lib, rundir
from kerasgan.data import ImageSource
from kerasgan.errors import ConfigError, DataError, RunError
from kerasgan.monitoring import CollapseDetector, MEMORISATION_COLUMNS, read_history


def _numbered_source(num, seed=0, **kwargs):
    """A source whose image i is filled with the value i: every pixel says which image it is."""
    images = np.repeat(np.arange(num, dtype=np.uint8), 4 * 4 * 3).reshape(num, 4, 4, 3)
    return ImageSource("numbered", images, seed=seed, **kwargs)


def test_the_split_is_disjoint_deterministic_and_holds_out_at_least_16():
    source = _numbered_source(100)
    train, heldout = source.holdout_split(0.05)
    assert len(heldout) == 16 and len(train) == 84  # round(5) is raised to the minimum
    assert set(train).isdisjoint(heldout) and set(train) | set(heldout) == set(range(100))
    again = _numbered_source(100).holdout_split(0.05)
    assert np.array_equal(again[0], train) and np.array_equal(again[1], heldout)
    assert not np.array_equal(_numbered_source(100, seed=1).holdout_split(0.05)[1], heldout)
    assert len(source.holdout_split(0.2)[1]) == 20


def test_the_parts_are_views_that_respect_every_per_image_field(tmp_path):
    names = ["Smiling", "Bangs"]
    attributes = np.stack([np.where(np.arange(60) % 2, 1, -1),
                           np.where(np.arange(60) % 3, 1, -1)], axis=1).astype(np.int8)
    path = str(tmp_path / "images.u8")
    stored = np.memmap(path, np.uint8, "w+", shape=(60, 4, 4, 3))
    stored[:] = _numbered_source(60)._images
    stored.flush()
    source = ImageSource("cache", np.memmap(path, np.uint8, "r", shape=(60, 4, 4, 3)),
                         attributes=attributes, attribute_names=names,
                         filenames=[f"{i:03d}.jpg" for i in range(60)])
    train_ids, heldout_ids = source.holdout_split(0.3)
    train, heldout = source.split_holdout(0.3, batch_size=8)
    for part, ids in ((train, train_ids), (heldout, heldout_ids)):
        assert part._images is source._images  # the memory-mapped cache itself, not a copy
        assert part.num_examples == len(ids) and part.part["holdout"] == 0.3
        assert np.array_equal(part.pixels(1000)[:, 0, 0, 0], ids)
        assert np.array_equal(part.images(5), source.images(60)[ids[:5]])
        assert part.filenames == [f"{i:03d}.jpg" for i in ids]
        assert np.array_equal(part.attributes, attributes[ids])
        assert np.array_equal(part.labels(names, 1000), (attributes[ids] > 0).astype(np.float32))
    assert (train.part["part"], heldout.part["part"]) == ("train", "heldout")
    seen = set()
    for epoch in (0, 1):
        for images, _ in train.dataset(8, epoch=epoch, attributes=names):
            seen |= set(np.round((images.numpy()[:, 0, 0, 0] + 1) * 127.5).astype(int))
    assert seen <= set(train_ids) and len(seen) > 8


def test_a_split_that_leaves_less_than_a_batch_is_refused_in_one_line():
    with pytest.raises(DataError, match=r"--holdout=0.3 holds out 16 of the 40 usable images of "
                                        r"numbered, leaving 24, fewer than one batch of "
                                        r"--batch_size=32"):
        _numbered_source(40).split_holdout(0.3, batch_size=32)


@pytest.mark.parametrize("values,message", [
    (dict(holdout=0.5), r"--holdout=0.5 is not allowed: use a share in \[0, 0.5\)"),
    (dict(holdout=-0.1), r"--holdout=-0.1 is not allowed"),
    (dict(kimg=-1.0), r"--kimg=-1.0 is not allowed: it must be at least 0"),
    (dict(eval_every_kimg=-1.0), r"--eval_every_kimg=-1.0 is not allowed: it must be at least 0"),
    (dict(holdout=0.1, conditional_attributes="Smiling"),
     r"--holdout=0.1 is not allowed with --conditional_attributes"),
])
def test_bad_values_are_refused_naming_the_flag(values, message):
    with pytest.raises(ConfigError, match=message):
        config_lib.make_config(**values)


def test_old_runs_read_as_without_them_and_holdout_is_part_of_the_run(tmp_path):
    values = config_lib.TrainConfig().to_dict()
    for name in ("kimg", "holdout", "eval_every_kimg"):
        del values[name]
    old = config_lib.TrainConfig.from_json(json.dumps(values))
    assert (old.kimg, old.holdout, old.eval_every_kimg) == (0.0, 0.0, 0.0)
    rundir.write_config(old, str(tmp_path))
    rundir.check_compatible(old.replace(kimg=5.0, eval_every_kimg=1.0), str(tmp_path))
    with pytest.raises(RunError, match=r"holdout: 0.0 -> 0.1"):
        rundir.check_compatible(old.replace(holdout=0.1), str(tmp_path))


def test_a_run_made_before_its_preset_changed_is_refused_with_how_to_go_on(tmp_path):
    # quick64's G moved from dcgan to dcgan_resize: its old runs keep their own networks.
    old = config_lib.make_config("quick64").replace(arch="dcgan")
    rundir.write_config(old, str(tmp_path))
    with pytest.raises(RunError, match=r"arch: dcgan -> dcgan_resize\); to go on with it as it "
                                       r"was, give --workdir alone"):
        rundir.check_compatible(config_lib.make_config("quick64"), str(tmp_path))


def test_folder_presets():
    quick = config_lib.make_config("quick32")
    assert list(config_lib.PRESETS)[:5] == ["quick32", "quick64", "seed128", "dcgan64", "keras32"]
    for name, size in (("folder32", 32), ("folder64", 64)):
        config = config_lib.make_config(name, data_dir="faces")
        assert (config.image_size, config.dataset, config.flip) == (size, "folder", True)
        assert config.holdout == 0.05 and config.kimg > 0
        assert config.kimg / config.eval_every_kimg >= 10  # a best generator to choose from
        assert (config.augment, config.augment_p) == ("color,translation,cutout", "auto")
        for field in ("arch", "channels", "latent_dim", "loss", "d_norm", "g_lr",
                      "d_lr", "beta1", "g_ema", "g_ema_kimg"):
            assert getattr(config, field) == getattr(quick, field), field
        assert config.batch_size == 32  # as measured, before quick32 moved to batch 16
    assert "folder32" in config_lib.TrainConfig.__dataclass_fields__["preset"].metadata["help"]


def test_epochs_for_kimg():
    from kerasgan.train_lib import epochs_for_kimg
    assert epochs_for_kimg(600.0, 6, 32) == 3125  # 600,000 images / 192 a epoch
    assert epochs_for_kimg(0.064, 4, 8) == 2  # 64 images exactly, despite 0.064 * 1000's rounding
    assert epochs_for_kimg(0.065, 4, 8) == 3
    assert epochs_for_kimg(0.001, 4, 8) == 1


def test_evaluation_falls_at_the_first_epoch_end_after_each_multiple_and_at_the_end():
    from kerasgan.train_lib import evaluation_due
    config = config_lib.make_config(batch_size=8, epochs=10, eval_every_kimg=0.05)

    def due(config):  # 4 steps of 8 an epoch: epoch k ends at 32 k images
        return [epoch + 1 for epoch in range(config.epochs)
                if evaluation_due(config, epoch, 4 * (epoch + 1), 4)]

    assert due(config) == [2, 4, 5, 7, 8, 10]  # after 50, 100, 150, 200, 250, 300 images
    assert due(config.replace(epochs=9)) == [2, 4, 5, 7, 8, 9]  # and at the run's end
    assert due(config.replace(eval_every_kimg=0.0, eval_every_epochs=3)) == [3, 6, 9]
    assert due(config.replace(eval_every_kimg=0.0)) == []


def test_memorisation_warning_fires_on_a_lasting_gap_once():
    healthy = {"d_real_acc": 1.0, "d_fake_acc": 1.0}
    detector = CollapseDetector()
    for gap in (0.7, 0.8, 0.6):
        detector.update({**healthy, "d_sign_train": 0.8, "d_sign_heldout": 0.8 - gap})
    warning = detector.end_epoch(5)
    assert warning.startswith("epoch 5: D's mean sign on the training images exceeded")
    for part in ("memorising the folder", "--augment=color,translation,cutout --augment_p=auto",
                 "more images", "generator_best.keras", "at each of the last 3 logged steps"):
        assert part in warning
    detector.update({**healthy, "d_sign_train": 0.9, "d_sign_heldout": -0.5})
    assert detector.end_epoch(6) is None  # once


@pytest.mark.parametrize("gaps", [(0.3, 0.4, 0.2, 0.45), (0.9, 0.9, 0.1, 0.9, 0.9), None])
def test_memorisation_warning_stays_quiet_without_a_lasting_gap(gaps):
    detector = CollapseDetector()
    for gap in gaps or (None,) * 5:
        signs = {} if gap is None else {"d_sign_train": 0.5, "d_sign_heldout": 0.5 - gap}
        detector.update({"d_real_acc": 0.6, "d_fake_acc": 0.6, **signs})
    assert detector.end_epoch(1) is None


def test_the_memorisation_plot_is_drawn_only_for_runs_with_the_columns(tmp_path):
    from kerasgan import monitoring, plots
    for name, heldout in (("plain", False), ("heldout", True)):
        workdir = str(tmp_path / name)
        columns = monitoring.history_columns(("d_loss", "g_loss"), heldout=heldout)
        assert (set(MEMORISATION_COLUMNS) & set(columns)) == (
            set(MEMORISATION_COLUMNS) if heldout else set())
        with monitoring.History(rundir.path(workdir, rundir.HISTORY_FILE), columns) as history:
            for step in range(1, 6):
                signs = (dict(zip(MEMORISATION_COLUMNS, (0.1 * step, -0.1 * step))) if heldout
                         else {})
                history.append({"epoch": 1, "step": step, "d_loss": 1.0, "g_loss": 1.0, **signs})
        path = rundir.path(workdir, rundir.PLOTS_DIR, "d_memorisation.png")
        assert (path in plots.redraw(workdir)) == heldout == os.path.isfile(path)


# ---------------------------------------------------------------------------------------------
# One tiny --holdout run shared by the tests below: 48 synthetic faces, 16 held out, 32 trained
# on in 4 steps of 8 an epoch; --kimg=0.064 gives 2 epochs, --eval_every_kimg=0.032 evaluates
# after each.

def _holdout_config(workdir, **changes):
    return config_lib.make_config(
        image_size=16, arch="dcgan", channels=8, latent_dim=8, batch_size=8, dataset="synthetic",
        num_synthetic=48, holdout=0.3, kimg=0.064, eval_every_kimg=0.032, eval_num_samples=16,
        num_grid_samples=4, log_every=2, workdir=workdir, **changes)


@pytest.fixture(scope="module")
def holdout_run(tmp_path_factory):
    from kerasgan import train_lib
    workdir = str(tmp_path_factory.mktemp("holdout") / "run")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = train_lib.train_and_evaluate(_holdout_config(workdir))
    return workdir, result, printed.getvalue()


def _metric_lines(workdir, metric="swd_avg"):
    with open(rundir.path(workdir, rundir.METRICS_FILE)) as f:
        return [line for line in map(json.loads, f) if line["metric"] == metric]


def test_the_run_derives_its_epochs_from_kimg_and_trains_on_the_training_part(holdout_run):
    workdir, result, printed = holdout_run
    assert (result.status, result.epoch, result.step) == ("finished", 2, 8)
    assert "held out 16 of 48 images (--holdout=0.3), training on 32" in printed
    assert "--kimg=0.064: 2 epochs of 4 steps of 8" in printed
    assert rundir.read_config(workdir).epochs == 2


def test_d_sign_on_training_and_held_out_images_is_in_history_and_tensorboard(holdout_run):
    import tensorflow as tf
    workdir = holdout_run[0]
    rows = read_history(rundir.path(workdir, rundir.HISTORY_FILE))
    assert [row["step"] for row in rows] == [2, 4, 6, 8]
    for name in MEMORISATION_COLUMNS:
        assert all(-1.0 <= row[name] <= 1.0 for row in rows), name
    tags = set()
    for path in glob.glob(rundir.path(workdir, rundir.TENSORBOARD_DIR, "*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags |= {value.tag for value in event.summary.value}
    assert set(MEMORISATION_COLUMNS) <= tags
    assert os.path.isfile(rundir.path(workdir, rundir.PLOTS_DIR, "d_memorisation.png"))


def test_evaluations_measure_the_held_out_images_and_keep_the_best_generator(holdout_run):
    from kerasgan import checkpointing
    workdir = holdout_run[0]
    lines = _metric_lines(workdir)
    assert [line["step"] for line in lines] == [4, 8]
    assert all(line["protocol"]["real"]["part"]["part"] == "heldout" for line in lines)
    assert all(line["num_samples"] == 16 for line in lines)
    best = min(lines, key=lambda line: line["value"])
    info = rundir.read_best(workdir)
    assert (info["step"], info["epoch"]) == (best["step"], best["epoch"])
    assert info["swd_avg"] == pytest.approx(best["value"])
    assert info["kimg"] == pytest.approx(best["step"] * 8 / 1000)
    assert f"best so far: swd_avg={lines[0]['value']:.4g} on the held-out images at step 4" \
        in holdout_run[2]
    _, generator, _ = checkpointing.load_best_generator(workdir)
    assert generator.latent_dim == 8


def test_a_resumed_run_keeps_its_derived_epochs_and_its_best(holdout_run, tmp_path):
    from kerasgan import train_lib
    workdir = str(tmp_path / "run")
    shutil.copytree(holdout_run[0], workdir)
    again = train_lib.train_and_evaluate(train_lib.resolve_config(overrides={"workdir": workdir}))
    assert (again.status, again.epoch) == ("already_finished", 2)
    before = rundir.read_best(workdir)
    longer = train_lib.train_and_evaluate(
        train_lib.resolve_config(overrides={"workdir": workdir, "kimg": 0.096}))
    assert (longer.status, longer.epoch, longer.step) == ("finished", 3, 12)
    values = {line["step"]: line["value"] for line in _metric_lines(workdir)}
    assert sorted(values) == [4, 8, 12]
    assert rundir.read_best(workdir)["swd_avg"] == pytest.approx(min(values.values()))
    if values[12] >= before["swd_avg"]:
        assert rundir.read_best(workdir) == before


def test_sample_best_draws_with_generator_best_keras(holdout_run, tmp_path):
    from kerasgan import checkpointing, sample_lib
    workdir = holdout_run[0]
    written = sample_lib.sample(workdir=workdir, seeds=[0, 1], grid=True, best=True,
                                outdir=str(tmp_path))
    best = checkpointing.load_generator(rundir.path(workdir, rundir.GENERATOR_BEST_FILE))
    expected = sample_lib.generate(best, [0, 1])
    from kerasgan import images
    assert np.array_equal(images.load_grid_tiles(written[0]), images.to_uint8(expected))


@pytest.mark.parametrize("choice,flag", [(dict(checkpoint=8), "--checkpoint"),
                                         (dict(raw=True), "--raw_g")])
def test_best_with_another_choice_of_generator_is_refused(holdout_run, choice, flag):
    from kerasgan import sample_lib
    with pytest.raises(ConfigError, match=f"--best and {flag} each pick a generator"):
        sample_lib.sample(workdir=holdout_run[0], best=True, **choice)
    if flag == "--raw_g":
        from kerasgan import evaluate_lib
        with pytest.raises(ConfigError, match="--best and --raw_g each pick a generator"):
            evaluate_lib.evaluate_run(holdout_run[0], best=True, raw=True)


def test_best_on_a_run_without_held_out_images_says_why(holdout_run, tmp_path):
    from kerasgan import evaluate_lib, sample_lib
    workdir = str(tmp_path / "run")
    shutil.copytree(holdout_run[0], workdir)
    for name in (rundir.GENERATOR_BEST_FILE, rundir.GENERATOR_BEST_INFO_FILE):
        os.remove(rundir.path(workdir, name))
    rundir.write_config(rundir.read_config(workdir).replace(holdout=0.0), workdir)
    message = (r"--best: .* has no generator_best.keras \(kept by runs that evaluate against "
               r"held-out images while training\): it was trained without held-out images "
               r"\(--holdout=0\)")
    with pytest.raises(RunError, match=message):
        sample_lib.sample(workdir=workdir, best=True)
    with pytest.raises(RunError, match=message):
        evaluate_lib.evaluate_run(workdir, best=True)


def test_evaluate_measures_a_holdout_run_as_training_did(holdout_run):
    """The same generator and the same held-out images give the number logged in training:
    generator_best.keras with --best, the latest checkpoint without."""
    from kerasgan import evaluate_lib
    workdir = holdout_run[0]
    logged = {line["step"]: line["value"] for line in _metric_lines(workdir)}
    info = rundir.read_best(workdir)
    best = evaluate_lib.evaluate_run(workdir, num_samples=16, best=True)[0]
    assert (best["metric"], best["checkpoint"], best["step"]) == (
        "swd_avg", "generator_best.keras", info["step"])
    assert best["protocol"]["generator"] == "best (G average)"
    assert best["protocol"]["real"]["part"]["part"] == "heldout"
    assert best["value"] == pytest.approx(logged[info["step"]], rel=1e-3)
    latest = evaluate_lib.evaluate_run(workdir, num_samples=16)[0]
    assert latest["step"] == 8 and latest["value"] == pytest.approx(logged[8], rel=1e-3)


def test_evaluate_cli_refuses_best_with_raw_g_before_tensorflow(cli_without_tensorflow,
                                                                tmp_path):
    proc = cli_without_tensorflow("kerasgan.evaluate", f"--workdir={tmp_path}", "--best",
                                  "--raw_g")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: --best and --raw_g each pick a generator: give one of them "
                      "(--best is the run's generator_best.keras)"]


def test_sample_cli_refuses_best_with_checkpoint_in_one_line(cli, tmp_path):
    proc = cli("kerasgan.sample", f"--workdir={tmp_path}", "--best", "--checkpoint=4")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: --best and --checkpoint each pick a generator: give one of them "
                      "(--best is the run's generator_best.keras)"]
