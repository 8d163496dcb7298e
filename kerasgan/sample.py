"""Sample faces from a run directory or an exported generator, by seed.

    python -m kerasgan.sample --workdir=runs/NAME --num_images=16 [--seeds=0-15] [--grid] [--outdir=DIR]
    python -m kerasgan.sample --generator=runs/NAME/generator.keras --num_images=10
    python -m kerasgan.sample --workdir=runs/NAME --interpolate=3,7 --frames=16 [--outdir=DIR]

Seed s always gives the same noise vector, so the same generator draws the same face for it.
--interpolate=A,B walks from seed A's noise to seed B's (spherically) and writes
interpolate_A_B.png (the frames in one row) and interpolate_A_B.gif.
"""

from absl import flags

from kerasgan import cli
from kerasgan.errors import ConfigError

flags.DEFINE_string("workdir", "", "run directory to sample from (its latest checkpoint)")
flags.DEFINE_string("generator", "", "exported generator (.keras) to sample from instead")
flags.DEFINE_integer("num_images", 16, "images to draw (seeds 0..num_images-1 unless --seeds)")
flags.DEFINE_string("seeds", "", "seeds to draw, e.g. 0-15 or 3,7,20-23; overrides --num_images")
flags.DEFINE_bool("grid", False, "write one grid image (grid.png) instead of one PNG per seed")
flags.DEFINE_string("interpolate", "", "two seeds A,B: write the spherical interpolation between "
                    "their noise as a strip (interpolate_A_B.png) and a GIF (interpolate_A_B.gif)")
flags.DEFINE_integer("frames", 16, "images in an --interpolate strip and GIF, both ends included")
flags.DEFINE_string("outdir", "", "output folder (default: RUN/generated, or ./generated)")
flags.DEFINE_integer("batch_size", 64, "images generated per forward pass")
flags.DEFINE_bool("raw_g", False, "with --workdir: sample the trained G itself rather than its "
                  "moving average (runs trained with --g_ema)")
FLAGS = flags.FLAGS


def main(argv):
    from kerasgan import sample_lib

    if FLAGS.interpolate:
        if FLAGS.seeds or FLAGS.grid:
            raise ConfigError("--interpolate draws its own frames: leave out --seeds and --grid")
        seeds = sample_lib.parse_interpolate(FLAGS.interpolate)
        written = sample_lib.interpolate(seeds, sample_lib.check_frames(FLAGS.frames),
                                         workdir=FLAGS.workdir, generator_path=FLAGS.generator,
                                         outdir=FLAGS.outdir, batch_size=FLAGS.batch_size,
                                         raw=FLAGS.raw_g)
        for path in written:
            print(path)
        return
    seeds = sample_lib.parse_seeds(FLAGS.seeds) if FLAGS.seeds else None
    written = sample_lib.sample(workdir=FLAGS.workdir, generator_path=FLAGS.generator,
                                num_images=FLAGS.num_images, seeds=seeds, grid=FLAGS.grid,
                                outdir=FLAGS.outdir, batch_size=FLAGS.batch_size, raw=FLAGS.raw_g)
    print(f"wrote {len(written)} file(s) to {written[0].rsplit('/', 1)[0] if written else ''}")


if __name__ == "__main__":
    cli.run(main)
