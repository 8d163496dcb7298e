"""Sample faces from a run directory or an exported generator, by seed.

    python -m kerasgan.sample --workdir=runs/NAME --num_images=16 [--seeds=0-15] [--grid] \
        [--outdir=DIR]
    python -m kerasgan.sample --generator=runs/NAME/generator.keras --num_images=10
    python -m kerasgan.sample --workdir=runs/NAME --interpolate=3,7 --frames=16 [--outdir=DIR]
    python -m kerasgan.sample --workdir=runs/NAME --attributes=Smiling=1,Eyeglasses=-1 --grid
    python -m kerasgan.sample --workdir=runs/NAME --attribute_sweep=Smiling --num_images=8
    python -m kerasgan.sample --workdir=runs/NAME --seeds=0-15 --grid --truncation=0.7
    python -m kerasgan.sample --workdir=runs/NAME --seeds=7 --checkpoint=3584
    python -m kerasgan.sample --workdir=runs/NAME --seeds=0-15 --grid --best

Seed s always gives the same noise vector, so the same generator draws the same face for it.
--interpolate=A,B walks from seed A's noise to seed B's (spherically) and writes
interpolate_A_B.png (the frames in one row) and interpolate_A_B.gif.

A conditional run (trained with --conditional_attributes) draws each seed's attributes as a
whole combination the training data has, in proportion; --attributes sets some of them (1 has
it, -1 has it not, as CelebA writes them), and --attribute_sweep=NAME writes sweep_NAME.png: a
row per seed, NAME off in the left column and on in the right, the noise and the other
attributes kept.

--truncation=ψ (0 < ψ <= 1) pulls every seed's noise toward the mean (ψ z): fewer odd faces,
less variety (docs/sampling.md). --checkpoint=STEP draws with one of the run's kept checkpoints
instead of its latest (the explorer's history view names them by step); --best draws with
generator_best.keras, which a --holdout run keeps from its best evaluation on held-out images.
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
flags.DEFINE_string("attributes", "", "conditional runs: attributes every face must have (NAME=1) "
                    "or lack (NAME=-1), e.g. Smiling=1,Eyeglasses=-1; the others are drawn from "
                    "the training data's combinations that have them")
flags.DEFINE_string("attribute_sweep", "", "conditional runs: one attribute, e.g. Smiling: write "
                    "sweep_Smiling.png, a row per seed (--seeds or --num_images) with the same "
                    "noise and other attributes, the attribute off (left) and on (right)")
flags.DEFINE_string("outdir", "", "output folder (default: RUN/generated, or ./generated)")
flags.DEFINE_integer("batch_size", 64, "images generated per forward pass")
flags.DEFINE_bool("raw_g", False, "with --workdir: sample the trained G itself rather than its "
                  "moving average (runs trained with --g_ema)")
flags.DEFINE_float("truncation", 1.0, "truncation ψ in (0, 1]: each seed's noise z is drawn as "
                   "ψ z, pulled toward the mean; 1 leaves it as drawn (docs/sampling.md)")
flags.DEFINE_integer("checkpoint", None, "with --workdir: the step of a kept checkpoint to draw "
                     "with (default: the latest)")
flags.DEFINE_bool("best", False, "with --workdir: draw with generator_best.keras, the generator "
                  "that scored the lowest swd_avg on the held-out images during training "
                  "(runs trained with --holdout that evaluate while training)")
FLAGS = flags.FLAGS


def main(argv):
    from kerasgan import rundir, sample_args
    from kerasgan.noise import check_truncation

    # Every value is checked before TensorFlow loads, so a mistake is refused at once.
    check_truncation(FLAGS.truncation)
    sample_args.check_best(FLAGS.best, FLAGS.checkpoint, FLAGS.generator, FLAGS.raw_g)
    if FLAGS.interpolate:
        if FLAGS.seeds or FLAGS.grid:
            raise ConfigError("--interpolate draws its own frames: leave out --seeds and --grid")
        if FLAGS.attribute_sweep:
            raise ConfigError("--interpolate and --attribute_sweep each write their own "
                              "pictures: give one of them")
        interpolate = sample_args.parse_interpolate(FLAGS.interpolate)
        sample_args.check_frames(FLAGS.frames)
    if FLAGS.attribute_sweep and FLAGS.grid:
        raise ConfigError("--attribute_sweep always writes one grid (sweep_NAME.png): leave out "
                          "--grid")
    seeds = sample_args.parse_seeds(FLAGS.seeds) if FLAGS.seeds else None
    sample_args.check_source(FLAGS.workdir, FLAGS.generator)
    if FLAGS.workdir:
        rundir.check_trained(FLAGS.workdir)
    from kerasgan import sample_lib

    choice = dict(truncation=FLAGS.truncation, checkpoint=FLAGS.checkpoint, best=FLAGS.best)
    if FLAGS.interpolate:
        written = sample_lib.interpolate(interpolate, FLAGS.frames, workdir=FLAGS.workdir,
                                         generator_path=FLAGS.generator, outdir=FLAGS.outdir,
                                         batch_size=FLAGS.batch_size, raw=FLAGS.raw_g,
                                         attributes=FLAGS.attributes, **choice)
        for path in written:
            print(path)
        return
    if FLAGS.attribute_sweep:
        written = sample_lib.attribute_sweep(
            FLAGS.attribute_sweep, FLAGS.attributes, workdir=FLAGS.workdir,
            generator_path=FLAGS.generator, num_rows=FLAGS.num_images, seeds=seeds,
            outdir=FLAGS.outdir, batch_size=FLAGS.batch_size, raw=FLAGS.raw_g, **choice)
        print(f"{written[0]}: a row per seed, {FLAGS.attribute_sweep} off (left) and on (right)")
        return
    written = sample_lib.sample(workdir=FLAGS.workdir, generator_path=FLAGS.generator,
                                num_images=FLAGS.num_images, seeds=seeds, grid=FLAGS.grid,
                                outdir=FLAGS.outdir, batch_size=FLAGS.batch_size, raw=FLAGS.raw_g,
                                attributes=FLAGS.attributes, **choice)
    print(f"wrote {len(written)} file(s) to {written[0].rsplit('/', 1)[0] if written else ''}")


if __name__ == "__main__":
    cli.run(main)
