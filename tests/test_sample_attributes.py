"""Sampling on request: --attributes parsing, the labels it gives, the attribute sweep's grid,
and the sample CLI's one-line errors for an unconditional generator."""

import types

import keras
import numpy as np
import pytest

from kerasgan import checkpointing, images as images_lib, labels, networks, sample_lib
from kerasgan.errors import ConfigError, RunError
from test_cli import _one_line_error

NAMES = ("Smiling", "Eyeglasses", "Blond_Hair")
SHARES = np.array([0.5, 0.1, 0.8], np.float32)
SIZE, LATENT = 16, 8


@pytest.mark.parametrize("text,request_", [
    ("Smiling=1,Eyeglasses=-1", {"Smiling": 1.0, "Eyeglasses": 0.0}),
    (" smiling = +1 , BLOND_HAIR=0", {"Smiling": 1.0, "Blond_Hair": 0.0}),
    ("Eyeglasses=1", {"Eyeglasses": 1.0}),
])
def test_parse_attribute_request(text, request_):
    assert sample_lib.parse_attribute_request(text, NAMES) == request_


@pytest.mark.parametrize("text,message", [
    ("Smilling=1", "--attributes=Smilling=1 is not allowed: Smilling is not among this "
                   "generator's attributes: Smiling, Eyeglasses, Blond_Hair"),
    ("Hat=1,Cap=-1", "Hat, Cap are not among"),
    ("Smiling", "write NAME=1 (has it) or NAME=-1 (has it not)"),
    ("Smiling=2", "write NAME=1"),
    ("Smiling=yes", "write NAME=1"),
    ("=1", "write NAME=1"),
    (",", "write NAME=1"),
    ("Smiling=1,smiling=-1", "Smiling is given more than once"),
])
def test_bad_attribute_requests_are_one_line(text, message):
    with pytest.raises(ConfigError) as error:
        sample_lib.parse_attribute_request(text, NAMES)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_an_unconditional_generator_takes_no_request():
    with pytest.raises(ConfigError, match="--attributes=Smiling=1 is not allowed: this generator "
                                          "is unconditional"):
        sample_lib.parse_attribute_request("Smiling=1", ())
    with pytest.raises(ConfigError, match="--attribute_sweep=Smiling is not allowed: this "
                                          "generator is unconditional"):
        sample_lib.check_sweep_attribute("Smiling", ())


@pytest.mark.parametrize("text,message", [("Smile", "Smile is not among this generator's "
                                                    "attributes: Smiling, Eyeglasses"),
                                          ("Smiling,Eyeglasses", "name one attribute"),
                                          ("Smiling=1", "name one attribute"),
                                          ("", "name one attribute")])
def test_bad_sweep_attribute(text, message):
    assert sample_lib.check_sweep_attribute("blond_hair", NAMES) == "Blond_Hair"
    with pytest.raises(ConfigError) as error:
        sample_lib.check_sweep_attribute(text, NAMES)
    assert message in str(error.value)


def test_requested_labels_are_set_and_the_rest_follow_the_frequencies():
    seeds = range(4000)
    asked = sample_lib.request_labels({"Eyeglasses": 1.0, "Blond_Hair": 0.0}, NAMES, SHARES,
                                      seeds)
    assert asked.dtype == np.float32 and asked.shape == (4000, 3)
    assert (asked[:, 1] == 1).all() and (asked[:, 2] == 0).all()
    assert abs(asked[:, 0].mean() - 0.5) < 0.03
    # The unnamed attribute is each seed's own draw, whatever else is drawn with it.
    np.testing.assert_array_equal(asked[:, 0], labels.draw_labels(SHARES, seeds)[:, 0])
    np.testing.assert_array_equal(sample_lib.request_labels({}, NAMES, SHARES, [17, 3]),
                                  labels.draw_labels(SHARES, seeds)[[17, 3]])


def test_sweep_labels_switch_one_attribute_per_row():
    seeds = [5, 6, 7]
    rows = sample_lib.sweep_labels("Smiling", NAMES, SHARES, seeds, {"Eyeglasses": 1.0})
    assert rows.shape == (6, 3) and rows.dtype == np.float32
    np.testing.assert_array_equal(rows[:, 0], [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(rows[0::2, 1:], rows[1::2, 1:])  # the rest kept per row
    assert (rows[:, 1] == 1).all()
    np.testing.assert_array_equal(rows[0::2, 2], labels.draw_labels(SHARES, seeds)[:, 2])
    with pytest.raises(ConfigError, match="the sweep draws it both off and on"):
        sample_lib.sweep_labels("Smiling", NAMES, SHARES, seeds, {"Smiling": 1.0})


# Eyeglasses only on smiling faces, never blond: the data's combinations of NAMES.
COMBINATIONS = (("001", 0.4), ("100", 0.3), ("110", 0.2), ("000", 0.1))


def test_requested_labels_come_with_the_others_as_the_data_has_them(capsys):
    asked = sample_lib.request_labels({"Eyeglasses": 1.0}, NAMES, SHARES, range(200),
                                      COMBINATIONS)
    np.testing.assert_array_equal(asked, np.tile([1.0, 1.0, 0.0], (200, 1)))
    drawn = sample_lib.request_labels({}, NAMES, SHARES, range(4000), COMBINATIONS)
    codes = ["".join(str(int(v)) for v in row) for row in drawn]
    assert set(codes) == {code for code, _ in COMBINATIONS}
    assert codes.count("001") / len(codes) == pytest.approx(0.4, abs=0.03)
    assert capsys.readouterr().out == ""


def test_a_request_no_training_face_has_says_so_and_draws_the_rest_alone(capsys):
    asked = sample_lib.request_labels({"Eyeglasses": 1.0, "Blond_Hair": 1.0}, NAMES, SHARES,
                                      range(50), COMBINATIONS)
    assert "note: no training face has Eyeglasses=1, Blond_Hair=1" in capsys.readouterr().out
    np.testing.assert_array_equal(asked[:, 0], labels.draw_labels(SHARES, range(50))[:, 0])
    assert (asked[:, 1:] == 1).all()


def test_sweep_rows_take_the_others_of_faces_with_the_attribute():
    rows = sample_lib.sweep_labels("Eyeglasses", NAMES, SHARES, range(20), None, COMBINATIONS)
    np.testing.assert_array_equal(rows[:, 1], [0, 1] * 20)
    assert (rows[:, 0] == 1).all() and (rows[:, 2] == 0).all()  # smiling, never blond


def _toy_generate(z, wanted):
    """Noise-coloured tiles with a white square in the corner for Smiling."""
    field = np.tile(z, SIZE * SIZE * 3 // LATENT).reshape(len(z), SIZE, SIZE, 3)
    images = 0.3 * np.tanh(field)
    images[np.asarray(wanted)[:, 0] > 0.5, :4, :4, :] = 1.0
    return images


def test_sweep_grid_is_rows_of_one_seed_off_then_on(tmp_path):
    path = str(tmp_path / "sweep_Smiling.png")
    seeds = [0, 1, 2, 3, 4]
    sample_lib.write_sweep(_toy_generate, LATENT, "Smiling", NAMES, SHARES, seeds, path)
    picture = images_lib.load_grid_tiles(path)
    grid = keras.utils.load_img(path)
    pad = images_lib.GRID_PADDING
    assert (grid.height, grid.width) == (pad + 5 * (SIZE + pad), pad + 2 * (SIZE + pad))
    assert picture.shape == (10, SIZE, SIZE, 3)
    off, on = picture[0::2], picture[1::2]
    assert (on[:, :4, :4] == 255).all() and (off[:, :4, :4] < 255).all()
    np.testing.assert_array_equal(off[:, 4:], on[:, 4:])  # each row keeps its noise
    assert not np.array_equal(off[0], off[1])  # rows differ


def _conditional(names=NAMES, frequencies=tuple(SHARES), combinations=()):
    return types.SimpleNamespace(attribute_names=names, attribute_frequencies=frequencies,
                                 attribute_combinations=combinations)


def test_generator_labels_follow_what_the_generator_keeps():
    assert sample_lib.generator_labels(types.SimpleNamespace(), "", [0, 1]) is None
    drawn = sample_lib.generator_labels(_conditional(), "", [0, 1])
    np.testing.assert_array_equal(drawn, labels.draw_labels(SHARES, [0, 1]))
    asked = sample_lib.generator_labels(_conditional(), "Smiling=-1", [0, 1])
    assert (asked[:, 0] == 0).all()
    kept = sample_lib.generator_labels(_conditional(combinations=COMBINATIONS), "Smiling=-1",
                                       range(30))
    assert {tuple(row) for row in kept} == {(0.0, 0.0, 1.0), (0.0, 0.0, 0.0)}
    with pytest.raises(ConfigError, match="unconditional"):
        sample_lib.generator_labels(types.SimpleNamespace(), "Smiling=1", [0])
    with pytest.raises(RunError, match="3 attribute\\(s\\) but 2 attribute frequencies"):
        sample_lib.generator_labels(_conditional(frequencies=(0.1, 0.2)), "", [0])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras.utils.set_random_seed(0)
    generator = networks.Generator(image_size=SIZE, latent_dim=LATENT)
    generator(np.zeros((1, LATENT), "float32"))
    path = str(tmp_path_factory.mktemp("sample_attributes") / "generator.keras")
    checkpointing.export_generator(generator, path)
    return path


# (flags, message, whether the refusal comes before TensorFlow loads: flags that contradict each
# other do; whether the generator is conditional is known once it is loaded).
@pytest.mark.parametrize("flags,message,before_tensorflow", [
    (("--attributes=Smiling=1",), "--attributes=Smiling=1 is not allowed: this generator is "
                                  "unconditional", False),
    (("--attribute_sweep=Smiling",), "--attribute_sweep=Smiling is not allowed: this generator "
                                     "is unconditional", False),
    (("--attribute_sweep=Smiling", "--grid"), "leave out --grid", True),
    (("--interpolate=1,2", "--attribute_sweep=Smiling"), "--interpolate and --attribute_sweep "
                                                         "each write their own pictures", True),
    (("--interpolate=1,2", "--attributes=Smiling=1"), "this generator is unconditional", False),
])
def test_cli_refuses_attributes_in_one_line(request, exported, tmp_path, flags, message,
                                            before_tensorflow):
    cli = request.getfixturevalue("cli_without_tensorflow" if before_tensorflow else "cli")
    proc = cli("kerasgan.sample", f"--generator={exported}", f"--outdir={tmp_path / 'out'}",
               *flags)
    assert proc.returncode == 2
    _one_line_error(proc, message)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
