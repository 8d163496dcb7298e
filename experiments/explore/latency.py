"""How fast the explorer answers (README.md here): the page's first load, one face, a 64-face grid.

    PYTHONPATH=. python experiments/explore/latency.py --workdir=runs/quick32 [--repeats=20]

Starts `python -m kerasgan.explore` as a user would and measures what the page waits for:
- first load: from the moment the address is printed to the page's HTML (HTTP GET /), and,
  where Chromium is installed, to the first face shown in a headless browser;
- one face and a grid of 64 over Gradio's direct HTTP route for each event (the page itself
  goes through Gradio's queue), plus fetching the PNG(s) it answers with, after one call to
  warm up; median and slowest of --repeats;
- in the browser, timed by the page's own clock: a new seed put in the box (an input event, as
  typing makes) until its face has loaded and been drawn, and "draw grid" for 64 faces until
  all have loaded.
The generator's own time (Explorer.face / grid in-process) is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(workdir: str, port: int):
    process = subprocess.Popen(
        [sys.executable, "-m", "kerasgan.explore", f"--workdir={workdir}", f"--port={port}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1"))
    begun = time.perf_counter()
    for line in process.stdout:
        if line.startswith("kerasgan explorer: "):
            return process, line.split()[2], time.perf_counter(), time.perf_counter() - begun
    raise SystemExit("the explorer printed no address")


def timed(call, repeats: int) -> list[float]:
    call()  # warm-up
    times = []
    for index in range(repeats):
        begun = time.perf_counter()
        call(index)
        times.append(1e3 * (time.perf_counter() - begun))
    return times


def summary(times: list[float]) -> str:
    return f"{statistics.median(times):.0f} ms median, {max(times):.0f} ms slowest"


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def face_shown(driver):
    """The src of the face image once it is loaded and drawn, else None."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, "#face img")
    if found and driver.execute_script("return arguments[0].complete && "
                                       "arguments[0].naturalWidth > 0", found[0]):
        return found[0].get_attribute("src")
    return None


# Timed inside the page: a new seed set in the box as typing sets it (an input event) until the
# new face has loaded, by the page's own clock, so WebDriver's round trips are not counted.
_SEED_CHANGE_JS = """
const [seed, done] = [arguments[0], arguments[arguments.length - 1]];
const box = document.querySelector('#seed input');
const old = document.querySelector('#face img').src;
const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
const begun = performance.now();
setter.call(box, String(seed));
box.dispatchEvent(new Event('input', {bubbles: true}));
const check = () => {
  const img = document.querySelector('#face img');
  if (img && img.src !== old && img.complete && img.naturalWidth > 0) {
    requestAnimationFrame(() => done(performance.now() - begun));
  } else {
    setTimeout(check, 1);
  }
};
check();
"""


# The same for the grid: 64 seeds from a new first seed, from the click on "draw grid" until all
# 64 faces have loaded and the last one's caption is shown.
_GRID_JS = """
const [start, done] = [arguments[0], arguments[arguments.length - 1]];
const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
for (const [selector, value] of [['#grid-start input', start],
                                 ['#grid-count input[type=number]', 64]]) {
  const box = document.querySelector(selector);
  setter.call(box, String(value));
  box.dispatchEvent(new Event('input', {bubbles: true}));
  box.dispatchEvent(new Event('change', {bubbles: true}));
}
setTimeout(() => {
  const begun = performance.now();
  document.querySelector('#draw-grid').click();
  const check = () => {
    const grid = document.querySelector('#grid');
    const images = [...grid.querySelectorAll('img')];
    if (images.length === 64 && grid.innerText.includes('seed ' + (start + 63))
        && images.every(image => image.complete && image.naturalWidth > 0)) {
      requestAnimationFrame(() => done(performance.now() - begun));
    } else {
      setTimeout(check, 1);
    }
  };
  check();
}, 100);
"""


def grids(driver, repeats: int) -> list[float]:
    """ms from "draw grid" (64 faces) to all 64 drawn with their captions, after one warm-up."""
    driver.set_script_timeout(60)
    times = [driver.execute_async_script(_GRID_JS, 1000 + 64 * index)
             for index in range(repeats + 1)]
    return times[1:]


def seed_changes(driver, repeats: int) -> list[float]:
    """ms from a new seed in the box to its face drawn on screen, after one to warm up."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(face_shown)
    driver.set_script_timeout(30)
    times = [driver.execute_async_script(_SEED_CHANGE_JS, 7 * index + 1)
             for index in range(repeats + 1)]
    return times[1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no_browser", action="store_true")
    args = parser.parse_args()

    from kerasgan import explore_lib
    explorer = explore_lib.Explorer(workdir=args.workdir)  # in this process, for its own times
    extra = ["data"] * len(explorer.names)
    use_browser = (not args.no_browser and shutil.which("chromium") is not None
                   and shutil.which("chromedriver") is not None)
    driver = chromium() if use_browser else None  # started before the page, as a user's is
    process, address, printed_at, startup = start(args.workdir, free_port())
    try:
        client = httpx.Client(timeout=60)
        page = client.get(address)
        first_html = 1e3 * (time.perf_counter() - printed_at)
        assert page.status_code == 200, page.status_code
        first_face = None
        if driver:
            from selenium.webdriver.support.ui import WebDriverWait
            driver.get(address)
            WebDriverWait(driver, 30, poll_frequency=0.005).until(face_shown)
            first_face = 1e3 * (time.perf_counter() - printed_at)
        route = address.rstrip("/") + "/gradio_api/run/"
        step = str(explorer.step)

        def face(index=0):
            # What a seed change asks: the face, and the same seed at the history's checkpoint.
            answer = client.post(route + "face", json={"data": [index, step, 1.0, *extra]})
            answer.raise_for_status()
            client.get(answer.json()["data"][0]["url"]).raise_for_status()

        def grid(index=0):
            answer = client.post(route + "grid", json={"data": [64 * index, 64, 1.0, *extra]})
            answer.raise_for_status()
            gallery = answer.json()["data"][0]
            assert len(gallery) == 64
            for item in gallery:
                client.get(item["image"]["url"]).raise_for_status()

        face_times = timed(face, args.repeats)
        grid_times = timed(grid, args.repeats)
        typed = seed_changes(driver, args.repeats) if driver else []
        drawn = grids(driver, args.repeats) if driver else []
    finally:
        if driver:
            driver.quit()
        process.terminate()
        process.wait(timeout=30)

    own_face = timed(lambda index=0: explorer.face(index), args.repeats)
    own_grid = timed(lambda index=0: explorer.grid(64 * index, 64), args.repeats)
    explorer.close()

    print(f"{args.workdir}: {explorer.describe()}")
    print(f"start-up to the printed address: {startup:.1f} s (TensorFlow, Gradio, the generator)")
    print(f"first load after the address: page HTML {first_html:.0f} ms"
          + (f", first face on screen in Chromium {first_face:.0f} ms" if first_face else ""))
    print(f"one face over Gradio's direct HTTP route (request + PNG; with the history's face "
          f"too): "
          f"{summary(face_times)}; the generator alone: {summary(own_face)}")
    print(f"64-face grid over the direct HTTP route (request + 64 PNGs, one by one): "
          f"{summary(grid_times)}; "
          f"the generator alone: {summary(own_grid)}")
    if typed:
        print(f"in Chromium, a new seed in the box until its face is drawn (the page's clock): "
              f"{summary(typed)}")
        print(f"in Chromium, \"draw grid\" until 64 faces are drawn (the page's clock): "
              f"{summary(drawn)}")


if __name__ == "__main__":
    main()
