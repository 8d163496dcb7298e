"""Explore a trained generator in the browser: faces by seed, truncation, a grid, interpolation,
attributes (conditional runs) and the run's history.

    pip install -e ".[explore]"          # Gradio, once
    python -m kerasgan.explore --workdir=runs/NAME [--port=7860] [--host=127.0.0.1]
    python -m kerasgan.explore --generator=runs/NAME/generator.keras

Loads the generator that `python -m kerasgan.sample` would use, once, then serves a local page
and prints its address. The page only reads the run directory (no lock, nothing written), so a
run that is still training can be explored; its new checkpoints appear on refresh. It listens
on 127.0.0.1 unless --host says otherwise, and never makes a public share link. docs/sampling.md
describes the page.
"""

from absl import flags

from kerasgan import cli, rundir, sample_args
from kerasgan.errors import ConfigError

INSTALL_HINT = 'the explorer needs Gradio: pip install -e ".[explore]"'

flags.DEFINE_string("workdir", "", "run directory to explore (its latest checkpoint, and its "
                    "kept checkpoints for the history)")
flags.DEFINE_string("generator", "", "exported generator (.keras) to explore instead")
flags.DEFINE_string("host", "127.0.0.1", "address to listen on; 127.0.0.1 keeps the page on "
                    "this machine (0.0.0.0 opens it to your network)")
flags.DEFINE_integer("port", 7860, "port to listen on")
flags.DEFINE_bool("raw_g", False, "with --workdir: the trained G itself rather than its moving "
                  "average (runs trained with --g_ema)")
FLAGS = flags.FLAGS


def main(argv):
    if not 0 < FLAGS.port < 65536:
        raise ConfigError(f"--port={FLAGS.port} is not allowed: use 1 to 65535")
    sample_args.check_source(FLAGS.workdir, FLAGS.generator)
    if FLAGS.workdir:
        rundir.check_trained(FLAGS.workdir)  # before Gradio and TensorFlow load
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    from kerasgan import explore_lib, explore_page

    explorer = explore_lib.Explorer(workdir=FLAGS.workdir, generator_path=FLAGS.generator,
                                    raw=FLAGS.raw_g)
    print(f"exploring {explorer.describe()}", flush=True)
    explore_page.launch(explore_page.build_page(explorer), explorer, FLAGS.host, FLAGS.port)


if __name__ == "__main__":
    cli.run(main)
