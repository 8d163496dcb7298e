"""attribute_accuracy on a toy world whose answer is known: 16 px images where "Corner" is a
bright square in the top-left corner and "Red" a red cast. A generator that obeys its labels
scores 1, one that ignores them 0.5, one that inverts them 0; the classifier's cache; errors."""

import json
import math
import os

import numpy as np
import pytest

from kerasgan import attribute_accuracy as attr, config as config_lib, evaluate_lib, labels, rundir
from kerasgan.errors import ConfigError, DataError, RunError

SIZE, LATENT = 16, 8
NAMES = ("Corner", "Red")
SHARES = np.array([0.3, 0.6], np.float32)  # unbalanced on purpose: the measure is balanced


def render(z, wanted):
    """Toy faces: a background pattern made from z, a red cast for Red, a square for Corner."""
    z, wanted = np.asarray(z, np.float32), np.asarray(wanted) > 0.5
    field = np.tile(z, SIZE * SIZE * 3 // LATENT).reshape(len(z), SIZE, SIZE, 3)
    images = -0.3 + 0.15 * np.tanh(field)
    images[wanted[:, 1], :, :, 0] += 0.5
    images[wanted[:, 0], :4, :4, :] = 0.9
    return images.astype(np.float32)


def real_faces(count, seed):
    rng = np.random.default_rng(seed)
    wanted = (rng.random((count, len(NAMES))) < SHARES).astype(np.float32)
    return render(rng.standard_normal((count, LATENT)), wanted), wanted


def obeys(z, wanted):
    return render(z, wanted)


def inverts(z, wanted):
    return render(z, 1.0 - wanted)


def ignores(z, wanted):
    coins = np.random.default_rng(len(z)).random(wanted.shape) < 0.5
    return render(z, coins)


def obeys_corner_only(z, wanted):
    return render(z, wanted * np.array([1.0, 0.0], np.float32))


@pytest.fixture(scope="module")
def trained():
    images, wanted = real_faces(640, seed=1)
    return attr.train_attribute_classifier(images[:512], wanted[:512], images[512:],
                                           wanted[512:], epochs=3, batch_size=32, seed=0,
                                           attribute_names=NAMES)


# ---------------------------------------------------------------------------------------------
# The pure parts.

def test_on_off_accuracy_against_counts_by_hand():
    predicted = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    wanted = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    result = attr.on_off_accuracy(predicted, wanted)
    # Column 0: wanted on in rows 0, 2 (said 1, 0); off in rows 1, 3 (said 1, 0).
    # Column 1: wanted on in row 1 (said 1); off in rows 0, 2, 3 (said 0, 0, 1).
    np.testing.assert_allclose(result["on"], [1 / 2, 1])
    np.testing.assert_allclose(result["off"], [1 / 2, 2 / 3])
    np.testing.assert_allclose(result["mean"], [1 / 2, 5 / 6])


def test_on_off_accuracy_is_nan_where_a_value_was_never_wanted():
    result = attr.on_off_accuracy([[1], [0]], [[1], [1]])
    assert result["on"][0] == 0.5 and math.isnan(result["off"][0])
    with pytest.raises(ValueError, match="one shape"):
        attr.on_off_accuracy([[1, 0]], [[1]])


def test_classifier_layers_fit_the_image_size():
    small = attr.build_attribute_classifier(16, 3)
    assert small.output_shape == (None, 3)
    assert [layer.name for layer in small.layers if layer.name.startswith("conv")] == \
        ["conv0", "conv1"]  # 16 -> 8 -> 4
    large = attr.build_attribute_classifier(256, 2)
    assert large.get_layer("shrink").pool_size == (4, 4)  # 256 -> 64 first
    assert len([layer for layer in large.layers if layer.name.startswith("conv")]) == 4


# ---------------------------------------------------------------------------------------------
# The classifier and the measure on the toy world.

def test_classifier_ceiling_on_held_out_toy_faces(trained):
    _, ceiling = trained
    assert set(ceiling) == {"on", "off", "mean"}
    assert ceiling["mean"].shape == (2,)
    assert (ceiling["on"] >= 0.95).all() and (ceiling["off"] >= 0.95).all(), ceiling


def test_training_is_deterministic_for_a_seed():
    images, wanted = real_faces(96, seed=3)
    runs = [attr.train_attribute_classifier(images[:64], wanted[:64], images[64:], wanted[64:],
                                            epochs=1, batch_size=16, seed=5)[0]
            for _ in range(2)]
    for first, again in zip(runs[0].get_weights(), runs[1].get_weights()):
        np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("generate,low,high", [(obeys, 0.95, 1.0), (inverts, 0.0, 0.05),
                                               (ignores, 0.4, 0.6)])
def test_accuracy_of_toy_generators_with_a_known_answer(trained, generate, low, high):
    classifier, _ = trained
    result = attr.attribute_accuracy(classifier, generate, LATENT, NAMES, SHARES, range(100))
    assert set(result) == set(NAMES)
    for name in NAMES:
        assert low <= result[name]["mean"] <= high, (name, result)
        assert result[name]["mean"] == pytest.approx((result[name]["on"] + result[name]["off"]) / 2)


def test_a_generator_that_never_draws_an_attribute_scores_on_0_off_1(trained):
    classifier, _ = trained
    result = attr.attribute_accuracy(classifier, obeys_corner_only, LATENT, NAMES, SHARES,
                                     range(100))
    assert result["Corner"]["mean"] >= 0.95
    assert result["Red"]["on"] <= 0.05 and result["Red"]["off"] >= 0.95
    assert result["Red"]["mean"] == pytest.approx(0.5, abs=0.05)


def test_each_attribute_is_asked_on_and_off_with_the_same_noise_and_other_labels(trained):
    classifier, _ = trained
    calls = []

    def recording(z, wanted):
        calls.append((z.copy(), wanted.copy()))
        return render(z, wanted)

    attr.attribute_accuracy(classifier, recording, LATENT, NAMES, SHARES, [4, 9, 30], chunk=4)
    z = np.concatenate([c[0] for c in calls])
    asked = np.concatenate([c[1] for c in calls])
    assert len(z) == 2 * 2 * 3  # two attributes, each seed on and off
    first = slice(0, 6)  # Corner: seeds 4, 9, 30 asked on, then off
    np.testing.assert_array_equal(asked[first, 0], [1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(asked[first, 1][:3], asked[first, 1][3:])
    np.testing.assert_array_equal(asked[first, 1][:3], labels.draw_labels(SHARES, [4, 9, 30])[:, 1])
    np.testing.assert_array_equal(z[0:3], z[3:6])


def test_the_other_attributes_come_from_the_combinations_with_the_tested_value(trained):
    classifier, _ = trained
    calls = []

    def recording(z, wanted):
        calls.append(wanted.copy())
        return render(z, wanted)

    never_both = (("00", 0.3), ("01", 0.5), ("10", 0.2))  # a red face never has the corner
    result = attr.attribute_accuracy(classifier, recording, LATENT, NAMES, SHARES, range(200),
                                     combinations=never_both)
    asked = np.concatenate(calls)
    corner_on, corner_off = asked[:200], asked[200:400]
    assert (corner_on == [1, 0]).all()
    assert corner_off[:, 0].max() == 0 and 0.5 < corner_off[:, 1].mean() < 0.8  # 0.5 / 0.8
    red_on = asked[400:600]
    assert (red_on == [0, 1]).all()
    for name in NAMES:
        assert result[name]["mean"] >= 0.95, result


def test_a_generator_of_the_wrong_size_is_one_line(trained):
    classifier, _ = trained
    with pytest.raises(RunError, match=r"draws images of shape \(8, 8, 3\) but the attribute "
                                       r"classifier judges \(16, 16, 3\)"):
        attr.attribute_accuracy(classifier, lambda z, w: np.zeros((len(z), 8, 8, 3)), LATENT,
                                NAMES, SHARES, range(2))


def test_mismatched_names_and_frequencies_are_refused(trained):
    with pytest.raises(ValueError, match="2 names, 1 frequencies"):
        attr.attribute_accuracy(trained[0], obeys, LATENT, NAMES, [0.5], range(2))


@pytest.mark.parametrize("change,message", [
    (lambda w: w * 0, "none of the 64 training real images have Corner"),
    (lambda w: np.ones_like(w), "all of the 64 training real images has Corner"),
    (lambda w: w * 2, "must be 0 or 1"),
    (lambda w: w[:10], r"labels must be \[64, A\]"),
])
def test_unusable_training_labels_are_one_line(change, message):
    images, wanted = real_faces(80, seed=4)
    with pytest.raises(DataError, match=message):
        attr.train_attribute_classifier(images[:64], change(wanted[:64]), images[64:],
                                        wanted[64:], epochs=1, attribute_names=NAMES)


# ---------------------------------------------------------------------------------------------
# The cache in the run directory.

def _counting_data(count=200, seed=6):
    calls = []

    def real_data():
        calls.append(1)
        return real_faces(count, seed)

    return real_data, calls


def test_classifier_is_trained_once_then_read_from_the_run_directory(tmp_path):
    real_data, calls = _counting_data()
    kwargs = dict(train_images=160, held_out_images=40, epochs=1, batch_size=32)
    first, info, trained = attr.load_or_train_classifier(str(tmp_path), real_data, NAMES, SIZE,
                                                         **kwargs)
    model_path = tmp_path / rundir.ATTRIBUTE_CLASSIFIER_FILE
    info_path = tmp_path / rundir.ATTRIBUTE_CLASSIFIER_INFO_FILE
    assert trained and calls == [1]
    assert (info["train_images"], info["held_out_images"]) == (160, 40)
    assert set(info["ceiling"]) == set(NAMES) and set(info["ceiling"]["Red"]) == {"on", "off",
                                                                                  "mean"}
    stored = json.loads(info_path.read_text())
    assert stored["key"]["attribute_names"] == list(NAMES) and stored["key"]["image_size"] == SIZE
    assert stored["ceiling"] == info["ceiling"]
    mtime = os.stat(model_path).st_mtime_ns
    assert sorted(os.listdir(tmp_path)) == sorted([model_path.name, info_path.name])  # no temp

    again, info_again, trained_again = attr.load_or_train_classifier(str(tmp_path), real_data,
                                                                     NAMES, SIZE, **kwargs)
    assert not trained_again and calls == [1] and os.stat(model_path).st_mtime_ns == mtime
    assert info_again == info
    images, _ = real_faces(8, seed=9)
    np.testing.assert_allclose(again.predict(images, verbose=0), first.predict(images, verbose=0),
                               rtol=1e-6)


@pytest.mark.parametrize("change", [dict(attribute_names=("Red", "Corner")),
                                    dict(image_size=32), dict(train_images=120),
                                    dict(data_key={"dataset": "celeba"})])
def test_a_different_request_trains_again(tmp_path, change):
    real_data, calls = _counting_data()
    kwargs = dict(attribute_names=NAMES, image_size=SIZE, train_images=160, held_out_images=40,
                  epochs=1, batch_size=32)
    attr.load_or_train_classifier(str(tmp_path), real_data, **kwargs)
    if "image_size" in change:  # the data must match the size asked for
        real_data = lambda: (np.repeat(np.repeat(real_faces(200, 6)[0], 2, 1), 2, 2),  # noqa
                             real_faces(200, 6)[1])
    _, _, trained = attr.load_or_train_classifier(str(tmp_path), real_data, **{**kwargs, **change})
    assert trained


def test_a_damaged_or_half_written_cache_trains_again(tmp_path, capsys):
    real_data, calls = _counting_data()
    kwargs = dict(train_images=160, held_out_images=40, epochs=1, batch_size=32)
    attr.load_or_train_classifier(str(tmp_path), real_data, NAMES, SIZE, **kwargs)
    (tmp_path / rundir.ATTRIBUTE_CLASSIFIER_FILE).write_bytes(b"not a zip")
    assert attr.load_or_train_classifier(str(tmp_path), real_data, NAMES, SIZE, **kwargs)[2]
    assert "could not be read" in capsys.readouterr().out
    os.remove(tmp_path / rundir.ATTRIBUTE_CLASSIFIER_INFO_FILE)  # as a save cut short leaves it
    assert attr.load_or_train_classifier(str(tmp_path), real_data, NAMES, SIZE, **kwargs)[2]
    assert calls == [1, 1, 1]


def test_fewer_real_images_than_asked_hold_out_a_fifth_and_say_so(tmp_path, capsys):
    real_data, _ = _counting_data(count=100)
    _, info, _ = attr.load_or_train_classifier(str(tmp_path), real_data, NAMES, SIZE,
                                               train_images=160, held_out_images=40, epochs=1)
    assert (info["train_images"], info["held_out_images"]) == (80, 20)
    assert "only 100 usable images" in capsys.readouterr().out
    with pytest.raises(DataError, match="at least 5 real images"):
        attr.load_or_train_classifier(str(tmp_path / "few"), lambda: real_faces(4, 0), NAMES,
                                      SIZE)


# ---------------------------------------------------------------------------------------------
# evaluate_lib: the metrics.jsonl rows and the metric's registration.

def test_results_are_metrics_jsonl_rows_per_attribute_and_their_mean(tmp_path):
    real_data, calls = _counting_data(count=240)
    kwargs = dict(num_samples=64, seed=2, train_images=200, held_out_images=40, epochs=6)
    results = evaluate_lib.attribute_accuracy_results(obeys, LATENT, real_data, NAMES, SHARES,
                                                      str(tmp_path), SIZE, **kwargs)
    assert [r["metric"] for r in results] == ["attribute_accuracy/Corner",
                                              "attribute_accuracy/Red", "attribute_accuracy/mean"]
    for row in results:
        assert {"value", "on", "off", "ceiling", "ceiling_on", "ceiling_off", "num_samples",
                "protocol"} <= set(row)
        assert row["num_samples"] == 64 and row["value"] >= 0.9 and row["ceiling"] >= 0.9
    for key in ("value", "on", "off", "ceiling"):
        assert results[2][key] == pytest.approx((results[0][key] + results[1][key]) / 2)
    protocol = results[0]["protocol"]
    assert protocol["classifier"] == "trained" and protocol["classifier_train_images"] == 200
    assert protocol["noise_seeds"].startswith("2000000-2000031")

    records = evaluate_lib.append_results(str(tmp_path), results, step=5, epoch=1)
    with open(tmp_path / rundir.METRICS_FILE) as f:
        assert [json.loads(line) for line in f] == records
    table = evaluate_lib.format_attribute_table(results)
    assert table.splitlines()[0].split() == ["attribute", "asked", "on", "asked", "off", "mean",
                                             "ceiling"]
    assert table.splitlines()[3].startswith("mean")

    again = evaluate_lib.attribute_accuracy_results(inverts, LATENT, real_data, NAMES, SHARES,
                                                    str(tmp_path), SIZE, **kwargs)
    assert calls == [1] and again[0]["protocol"]["classifier"] == "cached"
    assert again[2]["value"] <= 0.1 and again[2]["ceiling"] == results[2]["ceiling"]


def test_an_unconditional_generator_has_no_attribute_accuracy(tmp_path):
    with pytest.raises(ConfigError, match="needs a conditional generator"):
        evaluate_lib.attribute_accuracy_results(obeys, LATENT, real_faces, (), (), str(tmp_path),
                                                SIZE)


def test_attribute_accuracy_is_an_evaluate_metric_but_not_a_training_one():
    assert evaluate_lib.parse_metrics("swd,attribute_accuracy") == ("swd", "attribute_accuracy")
    with pytest.raises(ConfigError, match="--eval_metrics=attribute_accuracy is not allowed: "
                                          "use one or more of swd, fid, kid, comma-separated"):
        config_lib.make_config(eval_metrics="attribute_accuracy")
    with pytest.raises(ConfigError, match="attribute_accuracy needs the real labels"):
        evaluate_lib.evaluate_generator(None, config_lib.make_config(), "attribute_accuracy")
