"""Measure a run's latest checkpoint against real images (SWD, FID, KID) and, for a conditional
run, whether it draws the attributes it is asked for (attribute_accuracy).

    python -m kerasgan.evaluate --workdir=runs/NAME [--metrics=swd,fid,kid] [--num_samples=2048]
    python -m kerasgan.evaluate --workdir=runs/NAME --data_dir=PATH --split=test --metrics=fid \\
        --inception_weights=inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5
    python -m kerasgan.evaluate --workdir=runs/NAME --metrics=attribute_accuracy
    python -m kerasgan.evaluate --workdir=runs/NAME --best     # generator_best.keras (--holdout)
    python -m kerasgan.evaluate --workdir=runs/quick32 --real=synthetic_heldout --num_samples=1024

A run trained with --holdout is measured against its held-out images, as training measures it.
Prints a table and appends one JSON line per value to RUN/metrics.jsonl. See docs/evaluate.md.
"""

from absl import flags

from kerasgan import cli, rundir
from kerasgan.config import check_attribute_accuracy, make_config, parse_metrics
from kerasgan.errors import ConfigError
from kerasgan.noise import check_truncation
from kerasgan.sample_args import check_best

flags.DEFINE_string("workdir", "", "run directory to evaluate (its latest checkpoint); required")
flags.DEFINE_string("metrics", "swd", "comma-separated: swd, fid, kid (fid and kid need "
                    "Keras' InceptionV3 weights, see --inception_weights), attribute_accuracy "
                    "(conditional runs: a classifier trained once on the run's real faces, "
                    "cached in the run directory, judges faces asked with and without each "
                    "attribute)")
flags.DEFINE_integer("num_samples", 2048, "generated and real images (attribute_accuracy: "
                     "generated images per attribute, half asked with it). 2048 keeps SWD under a "
                     "minute and FID's covariance full-rank (2048 features); papers' FID/KID use "
                     "10000-50000 (10000 + 10000 Inception passes take ~30 min on a 2-core CPU). "
                     "Compare only numbers made with the same count")
flags.DEFINE_string("dataset", "", "real data source (default: the run's): celeba, folder, "
                    "tfds or synthetic")
flags.DEFINE_string("data_dir", "", "real images folder or zip (default: the run's)")
flags.DEFINE_string("split", "", "CelebA partition (default: the run's): train, val, test or all")
flags.DEFINE_string("inception_weights", "", "Keras' InceptionV3 notop .h5 file for fid/kid "
                    "(default: Keras' cache, else a download)")
flags.DEFINE_string("stats_dir", "", "cache of real-data Inception features (default: "
                    "RUN/kerasgan_stats); share one folder between runs on the same data")
flags.DEFINE_enum("real", "run", ["run", "synthetic_heldout"], "the real images: the run's own "
                  "data (its held-out part in a --holdout run), or for a synthetic run built-in "
                  "faces it never trained on (from index 100,000; the README's figures: "
                  "--real=synthetic_heldout --num_samples=1024)")
flags.DEFINE_integer("batch_size", 64, "images per generator forward pass")
flags.DEFINE_integer("seed", 0, "noise seeds seed*1e6+0..N-1 and the SWD/KID random draws")
flags.DEFINE_bool("raw_g", False, "measure the trained G itself rather than its moving average "
                  "(runs trained with --g_ema)")
flags.DEFINE_float("truncation", 1.0, "truncation ψ in (0, 1] of the generated images' noise "
                   "(as sample --truncation; recorded in each result's protocol); 1 = none")
flags.DEFINE_bool("best", False, "measure generator_best.keras, the generator that scored the "
                  "lowest swd_avg on the held-out images during training (--holdout runs), "
                  "instead of the latest checkpoint")
FLAGS = flags.FLAGS


def main(argv):
    if not FLAGS.workdir:
        raise ConfigError("--workdir is required: the run directory to evaluate")
    metrics = parse_metrics(FLAGS.metrics)
    if FLAGS.num_samples < 2:
        raise ConfigError(f"--num_samples={FLAGS.num_samples} is not allowed: it must be at "
                          "least 2")
    check_truncation(FLAGS.truncation)
    check_best(FLAGS.best, raw=FLAGS.raw_g)
    overrides = {name: getattr(FLAGS, name) for name in ("dataset", "split")
                 if getattr(FLAGS, name)}
    make_config(**overrides)  # bad values fail here, before TensorFlow loads
    run = rundir.check_trained(FLAGS.workdir)
    check_attribute_accuracy(metrics, run, FLAGS.workdir)
    if FLAGS.inception_weights and {"fid", "kid"} & set(metrics):
        from kerasgan.metrics import resolve_inception_weights  # TensorFlow-free

        resolve_inception_weights(FLAGS.inception_weights)  # a given file that is not there
    from kerasgan import evaluate_lib

    evaluate_lib.evaluate_run(
        FLAGS.workdir, metrics, FLAGS.num_samples, dataset=FLAGS.dataset, data_dir=FLAGS.data_dir,
        split=FLAGS.split, inception_weights=FLAGS.inception_weights or None,
        cache_dir=FLAGS.stats_dir or None, seed=FLAGS.seed, batch_size=FLAGS.batch_size,
        raw=FLAGS.raw_g, truncation=FLAGS.truncation, best=FLAGS.best, real=FLAGS.real)


if __name__ == "__main__":
    cli.run(main)
