"""`tfdis_train --gin_config=... [--gin_bindings=...] --model_dir=... [--overwrite]`.

`--allow_config_change=optimizer,regularizer` resumes an unfinished (e.g. NaN-stopped) run with
changed optimizer or regularizer constants; the change is recorded in
`checkpoints/config_history.json`.
"""

from __future__ import annotations

from absl import app, flags

from tfdis.cli import common

FLAGS = flags.FLAGS

flags.DEFINE_list(
    "allow_config_change",
    [],
    "Resume an unfinished run although these binding categories changed: optimizer "
    "(AdamOptimizer.learning_rate, ...), regularizer (vae.beta, ...).",
)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from tfdis.training.train import train_with_gin

    common.run_reporting_errors(
        "tfdis_train",
        lambda: train_with_gin(
            FLAGS.model_dir,
            FLAGS.overwrite,
            FLAGS.gin_config,
            FLAGS.gin_bindings,
            allow_config_change=FLAGS.allow_config_change,
        ),
    )


def run() -> None:
    flags.mark_flag_as_required("model_dir")
    app.run(main)


if __name__ == "__main__":
    run()
