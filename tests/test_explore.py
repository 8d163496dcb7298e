"""The explorer: its drawings against kerasgan.sample's files pixel for pixel, its checks of
what the page sends, the page served on 127.0.0.1 and driven by Gradio's own client, the
command line, and a real headless Chromium changing the seed."""

import os
import shlex
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from kerasgan import config as config_lib, explore_lib, images, rundir, sample_lib, train_lib
from kerasgan.errors import ConfigError, KerasganError, RunError
from test_cli import _one_line_error

NAMES = ("Smiling", "Pale_Skin")
ASKED = {"Smiling": "on", "Pale_Skin": "off"}
ASKED_TEXT = "Smiling=1,Pale_Skin=-1"


@pytest.fixture(scope="module")
def history_run(tmp_path_factory):
    """A conditional 16 px run of two epochs, two steps each: checkpoints of steps 2 and 4."""
    workdir = str(tmp_path_factory.mktemp("explore") / "run")
    config = config_lib.make_config(
        image_size=16, latent_dim=8, batch_size=8, arch="dcgan", channels=16,
        conditional_attributes=",".join(NAMES), dataset="synthetic", num_synthetic=64,
        epochs=2, steps_per_epoch=2, num_grid_samples=4, workdir=workdir)
    train_lib.train_and_evaluate(config)
    return workdir


@pytest.fixture(scope="module")
def explorer(history_run):
    explorer = explore_lib.Explorer(workdir=history_run)
    yield explorer
    explorer.close()


def _png(path):
    return tf.io.decode_png(tf.io.read_file(str(path))).numpy()


def _sampled(workdir, tmp_path, seeds, **kwargs):
    outdir = tmp_path / f"sampled{len(list(tmp_path.iterdir()))}"
    paths = sample_lib.sample(workdir=workdir, seeds=seeds, outdir=str(outdir), **kwargs)
    return [_png(path) for path in paths]


# -- the drawings are sample's, pixel for pixel -------------------------------------------------

@pytest.mark.parametrize("psi", [1.0, 0.6])
def test_a_face_by_seed_is_the_one_sample_writes(explorer, history_run, tmp_path, psi):
    seeds = [0, 7, 123456]
    expected = _sampled(history_run, tmp_path, seeds, truncation=psi, attributes=ASKED_TEXT)
    for seed, image in zip(seeds, expected):
        face = explorer.face(seed, psi, ASKED)
        assert face.dtype == np.uint8 and face.shape == (16, 16, 3)
        np.testing.assert_array_equal(face, image)


def test_attributes_left_as_in_the_data_draw_as_sample_does_without_them(
        explorer, history_run, tmp_path):
    [expected] = _sampled(history_run, tmp_path, [3])
    np.testing.assert_array_equal(explorer.face(3, 1.0, {"Smiling": "data"}), expected)
    np.testing.assert_array_equal(explorer.face(3), expected)


def test_the_grid_is_samples_seeds_in_order(explorer, history_run, tmp_path):
    tiles, seeds = explorer.grid(5, 6, 0.8, ASKED)
    assert seeds == list(range(5, 11))
    expected = _sampled(history_run, tmp_path, seeds, truncation=0.8, attributes=ASKED_TEXT)
    np.testing.assert_array_equal(tiles, np.stack(expected))


def test_the_interpolation_is_samples_strip_and_gif(explorer, history_run, tmp_path):
    tiles, gif = explorer.interpolation(3, 7, 5, 0.7, ASKED)
    strip, expected_gif = sample_lib.interpolate((3, 7), 5, workdir=history_run,
                                                 outdir=str(tmp_path), truncation=0.7,
                                                 attributes=ASKED_TEXT)
    np.testing.assert_array_equal(tiles, images.load_grid_tiles(strip))
    with open(gif, "rb") as ours, open(expected_gif, "rb") as samples:
        assert ours.read() == samples.read()
    assert os.path.basename(gif) == "interpolate_3_7.gif"
    assert os.path.dirname(os.path.dirname(gif)) == explorer.tempdir


def test_the_sweep_is_samples_sweep(explorer, history_run, tmp_path):
    tiles = explorer.sweep("smiling", 2, 3, 0.9, {"Pale_Skin": "on", "Smiling": "off"})
    [path] = sample_lib.attribute_sweep("Smiling", "Pale_Skin=1", workdir=history_run,
                                        seeds=[2, 3, 4], outdir=str(tmp_path), truncation=0.9)
    np.testing.assert_array_equal(tiles, images.load_grid_tiles(path))


def test_each_kept_checkpoint_draws_as_sample_checkpoint_does(explorer, history_run, tmp_path):
    assert explorer.checkpoints() == [(2, 1), (4, 2)]
    early = explorer.history_face(9, 2, 1.0, ASKED)
    late = explorer.history_face(9, "4", 1.0, ASKED)
    [expected_early] = _sampled(history_run, tmp_path, [9], checkpoint=2, attributes=ASKED_TEXT)
    np.testing.assert_array_equal(early, expected_early)
    np.testing.assert_array_equal(late, explorer.face(9, 1.0, ASKED))  # step 4 is the latest
    assert not np.array_equal(early, late)
    np.testing.assert_array_equal(explorer.history_face(9, 2, 1.0, ASKED), early)


def test_a_run_named_by_a_relative_path_lists_its_checkpoints(history_run, monkeypatch):
    monkeypatch.chdir(os.path.dirname(history_run))
    explorer = explore_lib.Explorer(workdir=os.path.basename(history_run))
    try:
        assert explorer.checkpoints() == [(2, 1), (4, 2)]
        assert explorer.history_face(3, 2).shape == (16, 16, 3)
    finally:
        explorer.close()


def test_the_shown_command_remakes_the_face(explorer, history_run, tmp_path, cli):
    command = explorer.sample_command(11, 0.7, ASKED, step=2)
    assert command.startswith("python -m kerasgan.sample ")
    args = shlex.split(command)[3:]
    result = cli("kerasgan.sample", *args, f"--outdir={tmp_path}")
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(_png(tmp_path / "seed0011.png"),
                                  explorer.history_face(11, 2, 0.7, ASKED))


def test_upscaling_repeats_whole_pixels():
    image = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    big = explore_lib.upscale(image, 5)
    assert big.shape == (6, 6, 3)
    np.testing.assert_array_equal(big[::3, ::3], image)
    np.testing.assert_array_equal(big[2, 2], image[0, 0])
    assert explore_lib.upscale(np.zeros((4, 32, 32, 3), np.uint8), 96).shape == (4, 96, 96, 3)


# -- what the page may send, checked ------------------------------------------------------------

@pytest.mark.parametrize("call,message", [
    (lambda e: e.face(-1), "seed -1 is not allowed: use a whole number from 0 to 2,147,483,647"),
    (lambda e: e.face(2**31), "seed 2147483648 is not allowed"),
    (lambda e: e.face(1.5), "seed 1.5 is not allowed"),
    (lambda e: e.face("../config.json"), "seed ../config.json is not allowed"),
    (lambda e: e.face(1, 0.0), "--truncation=0.0 is not allowed: truncation ψ must be in (0, 1]"),
    (lambda e: e.face(1, 1.5), "--truncation=1.5 is not allowed"),
    (lambda e: e.grid(0, 65), "grid size 65 is not allowed: use a whole number from 1 to 64"),
    (lambda e: e.grid(2**31 - 2, 4), "last seed 2147483649 is not allowed"),
    (lambda e: e.interpolation(1, 2, 65), "frames 65 is not allowed: use a whole number from 2 "
                                          "to 64"),
    (lambda e: e.interpolation(1, 2, 1), "frames 1 is not allowed"),
    (lambda e: e.interpolation(4, 4), "the two seeds must differ"),
    (lambda e: e.face(0, 1.0, {"Eyeglasses": "on"}), "Eyeglasses is not among this generator's "
                                                     "attributes: Smiling, Pale_Skin"),
    (lambda e: e.face(0, 1.0, {"Smiling": "maybe"}), "Smiling=maybe is not allowed"),
    (lambda e: e.sweep("Bangs", 0), "Bangs is not among this generator's attributes"),
    (lambda e: e.history_face(0, 3), "--checkpoint=3 is not allowed: "),
    (lambda e: e.history_face(0, "../../etc/passwd"), "checkpoint '../../etc/passwd' is not "
                                                      "allowed"),
])
def test_bad_values_from_the_page_get_one_clear_message(explorer, call, message):
    with pytest.raises(KerasganError) as error:
        call(explorer)
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    explorer.face(0)  # and it keeps working


def test_an_unconditional_generator_asked_for_attributes_says_so(trained_run):
    explorer = explore_lib.Explorer(workdir=trained_run)
    try:
        for call in (lambda: explorer.face(0, 1.0, {"Smiling": "on"}),
                     lambda: explorer.sweep("Smiling", 0)):
            with pytest.raises(ConfigError, match="this generator is unconditional"):
                call()
        assert explorer.face(0, 1.0, {}).shape == (16, 16, 3)
    finally:
        explorer.close()


def test_a_checkpoint_deleted_while_exploring_is_reported_and_the_rest_still_works(
        history_run, tmp_path):
    workdir = str(tmp_path / "run")
    shutil.copytree(history_run, workdir)
    explorer = explore_lib.Explorer(workdir=workdir)
    try:
        assert [step for step, _ in explorer.checkpoints()] == [2, 4]
        for name in os.listdir(os.path.join(workdir, "checkpoints")):
            if name.startswith("ckpt-2."):
                os.remove(os.path.join(workdir, "checkpoints", name))
        with pytest.raises(KerasganError, match="keeps the checkpoints of steps 4"):
            explorer.history_face(0, 2)
        assert explorer.checkpoints() == [(4, 2)]
        np.testing.assert_array_equal(explorer.history_face(0, 4), explorer.face(0))
    finally:
        explorer.close()


def test_a_missing_or_half_written_run_is_one_clear_error(tmp_path, tiny_config):
    with pytest.raises(RunError, match="run directory not found"):
        explore_lib.Explorer(workdir=str(tmp_path / "nowhere"))
    half = str(tmp_path / "half")
    rundir.write_config(tiny_config.replace(workdir=half), half)
    with pytest.raises(RunError, match="has no checkpoint yet"):
        explore_lib.Explorer(workdir=half)
    with pytest.raises(ConfigError, match="give exactly one of --workdir"):
        explore_lib.Explorer()


def _tree(workdir):
    return {os.path.relpath(os.path.join(folder, name), workdir):
            (os.stat(os.path.join(folder, name)).st_size,
             os.stat(os.path.join(folder, name)).st_mtime_ns)
            for folder, _, names in os.walk(workdir) for name in names}


def test_exploring_writes_nothing_into_the_run_and_takes_no_lock(history_run):
    before = _tree(history_run)
    explorer = explore_lib.Explorer(workdir=history_run)
    try:
        explorer.face(1, 0.5, ASKED)
        explorer.grid(0, 4)
        explorer.interpolation(0, 1, 3)
        explorer.sweep("Smiling", 0, 2)
        explorer.history_face(1, 2)
        explorer.history_files()
        lock = rundir.RunLock(history_run).acquire()  # a trainer could start now
        lock.release()
    finally:
        explorer.close()
    assert _tree(history_run) == before
    assert not os.path.exists(explorer.tempdir)


# -- the page, served and driven ---------------------------------------------------------------

def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(explorer):
    """The page of `explorer` on 127.0.0.1 and Gradio's client talking to it."""
    pytest.importorskip("gradio")
    from gradio_client import Client

    from kerasgan import explore_page

    page = explore_page.build_page(explorer)
    address = explore_page.launch(page, explorer, "127.0.0.1", _free_port(), block=False)
    try:
        yield address, Client(address, verbose=False, download_files=str(explorer.tempdir))
    finally:
        page.close()


def test_the_served_page_draws_samples_faces(served, explorer, history_run, tmp_path):
    from kerasgan import explore_page

    address, client = served
    assert address.startswith("http://127.0.0.1:")
    choices = ["on", "off"]  # Smiling, Pale_Skin
    path, command, then, then_command = client.predict(21, "2", 0.6, *choices,
                                                       api_name="/face")
    [expected] = _sampled(history_run, tmp_path, [21], truncation=0.6, attributes=ASKED_TEXT)
    shown = _png(path)
    assert shown.shape[0] >= explore_page.FACE_SIDE
    np.testing.assert_array_equal(shown, explore_lib.upscale(expected, explore_page.FACE_SIDE))
    assert command == (f"python -m kerasgan.sample --workdir={history_run} --seeds=21 "
                       f"--truncation=0.6 --attributes={ASKED_TEXT}")

    gallery = client.predict(30, 3, 1.0, "data", "data", api_name="/grid")
    tiles = [_png(item["image"]) for item in gallery]
    assert [item["caption"] for item in gallery] == ["seed 30", "seed 31", "seed 32"]
    np.testing.assert_array_equal(np.stack(tiles),
                                  np.stack(_sampled(history_run, tmp_path, [30, 31, 32])))

    checkpoints, _, _ = client.predict(api_name="/checkpoints")
    assert [value for _, value in checkpoints["choices"]] == ["4", "2"]
    np.testing.assert_array_equal(
        _png(then), explore_lib.upscale(explorer.history_face(21, 2, 0.6, ASKED),
                                        explore_page.FACE_SIDE))
    assert then_command.endswith("--checkpoint=2")
    chosen, chosen_command = client.predict("2", 21, 0.6, *choices, api_name="/history")
    np.testing.assert_array_equal(_png(chosen), _png(then))
    assert chosen_command == then_command


def test_the_served_page_shows_bad_input_as_a_message_and_keeps_working(served):
    from gradio_client.exceptions import AppError

    _, client = served
    # The slider refuses it before the Explorer does; either message names the value.
    with pytest.raises(AppError, match="65 is greater than maximum value 64|frames 65 is not"):
        client.predict(1, 2, 65, 1.0, "data", "data", api_name="/interpolation")
    with pytest.raises(AppError, match="the two seeds must differ"):
        client.predict(1, 1, 4, 1.0, "data", "data", api_name="/interpolation")
    with pytest.raises(AppError, match="seed -5 is not allowed"):
        client.predict(-5, "4", 1.0, "data", "data", api_name="/face")
    strip, gif = client.predict(1, 2, 4, 1.0, "data", "data", api_name="/interpolation")
    assert _png(strip).shape[1] > 4 * 16 and gif.endswith(".gif")


def test_a_port_in_use_is_one_clear_error(explorer):
    pytest.importorskip("gradio")
    from kerasgan import explore_page

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"--port={port} cannot be used"):
            explore_page.launch(explore_page.build_page(explorer), explorer, "127.0.0.1", port,
                                block=False)


# -- the command line --------------------------------------------------------------------------

def test_the_cli_on_a_missing_run_says_so_in_one_line(cli_without_tensorflow, tmp_path):
    result = cli_without_tensorflow("kerasgan.explore", f"--workdir={tmp_path / 'nowhere'}")
    assert result.returncode == 2
    _one_line_error(result, "is not a kerasgan run directory")


def test_the_cli_without_gradio_says_how_to_install_it(tmp_path, trained_run):
    blocker = tmp_path / "no_gradio"
    blocker.mkdir()
    (blocker / "gradio.py").write_text("raise ImportError(\"No module named 'gradio'\")\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), os.environ.get(
        "PYTHONPATH", "")]), TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-m", "kerasgan.explore", f"--workdir={trained_run}"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    _one_line_error(result, 'the explorer needs Gradio: pip install -e ".[explore]"')


def _start_cli(*args):
    """python -m kerasgan.explore ARGS in the background; (process, address it printed)."""
    process = subprocess.Popen([sys.executable, "-m", "kerasgan.explore", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                                        PYTHONUNBUFFERED="1"))
    deadline = time.monotonic() + 120
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if line.startswith("kerasgan explorer: "):
            return process, line.split()[2]
    process.kill()
    raise AssertionError("the explorer printed no address:\n" + "".join(lines))


def _chromium():
    """(selenium webdriver module, chromium, chromedriver) or a skip saying what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    paths = [shutil.which(name) for name in ("chromium", "chromedriver")]
    if not all(paths):
        pytest.skip("no Chromium here: apt-get install chromium chromium-driver")
    return webdriver, paths[0], paths[1]


def test_a_real_browser_changes_the_seed_and_sees_the_face_change(history_run):
    webdriver, chromium, chromedriver = _chromium()
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    process, address = _start_cli(f"--workdir={history_run}", f"--port={_free_port()}")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        assert address.startswith("http://127.0.0.1:")
        driver.get(address)
        wait = WebDriverWait(driver, 30)

        def face_source(driver):
            found = driver.find_elements(By.CSS_SELECTOR, "#face img")
            return found[0].get_attribute("src") if found else None

        first = wait.until(face_source)
        command = driver.find_element(By.CSS_SELECTOR, "#command textarea")
        assert command.get_attribute("value").endswith("--seeds=0")
        box = driver.find_element(By.CSS_SELECTOR, "#seed input")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys("-5", Keys.ENTER)
        wait.until(lambda d: "seed -5 is not allowed: use a whole number from 0 to "
                   "2,147,483,647" in d.page_source)
        assert face_source(driver) == first
        box.send_keys(Keys.CONTROL, "a")
        driver.execute_script("performance.clearResourceTimings()")
        box.send_keys("42", Keys.ENTER)
        wait.until(lambda d: face_source(d) not in (None, first))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#command textarea")
                   .get_attribute("value").endswith("--seeds=42"))
        assert "Traceback" not in driver.page_source
        # One request per keystroke at most: two listeners on one Number once made Gradio
        # re-fire its change event for seconds (40 requests and more).
        time.sleep(1.5)
        assert driver.execute_script("return performance.getEntriesByType('resource')"
                                     ".filter(e => e.name.includes('/run/predict')).length") <= 3
    finally:
        driver.quit()
        process.terminate()
        process.wait(timeout=30)
