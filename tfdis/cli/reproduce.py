"""`tfdis_reproduce --study=NAME --model_num=K --output_directory=DIR [--overwrite] [--only_print]`.

`--model_nums=0-9` (instead of `--model_num`) trains a block of models as one stacked group
(`tfdis.training.stacked`), then finishes each model as `--model_num` would.

This module parses the flags; the study runner is `tfdis.config.reproduce`.

Runs model `K` of a study (`tfdis.config`) in `DIR/K/` (dlib's layout): trains it, postprocesses
it with each of the study's postprocessing configs, evaluates every representation with the
study's metrics and draws its pictures (`--skip_visualize` leaves them out). A cluster array
job with one task per `K` in `0..num_models - 1` runs a whole study; `tfdis_aggregate` then
collects the results. `--gin_bindings` are applied to every step after the study's own.

`--only_print` prints model `K`'s configuration, or with `--model_num` omitted every model's,
one line each, and runs nothing.

Rerunning the same command resumes a killed task. A step whose results are complete is
skipped (training: `results/aggregate/train.json`; postprocessing and each metric:
their `results/aggregate/*.json`; pictures: `visualized` in `DIR/K/reproduce.json`). A step
that started but did not finish is redone: training resumes from its last checkpoint, a
postprocessing, metric or picture step replaces its partial output. Once a step runs, the
steps that read its output run again (retraining redoes everything, a new representation its
metrics), so no result is left from an older model. `--overwrite` redoes all.
"""

from __future__ import annotations

import sys

from absl import app, flags

from tfdis.cli import common
from tfdis.config.reproduce import print_study, reproduce, reproduce_block

FLAGS = flags.FLAGS

flags.DEFINE_string("study", None, "Study name (see tfdis.config.STUDIES), e.g. rtc_study_smoke.")
flags.DEFINE_integer(
    "model_num", None, "Model number in 0..num_models - 1 (omit with --only_print to list all)."
)
flags.DEFINE_string("output_directory", None, "Study directory; model K is written to DIR/K/.")
flags.DEFINE_string(
    "model_nums",
    None,
    "A block of model numbers trained together as one stacked group (issue 8), e.g. 0-9 or "
    "0,4,7; each is then postprocessed, evaluated and drawn as with --model_num.",
)
flags.DEFINE_integer(
    "models_per_chunk",
    None,
    "With --model_nums: models the stacked step runs at once (default: all on a GPU/TPU, one "
    "at a time on a CPU). Changes speed, not results.",
)
flags.DEFINE_boolean("only_print", False, "Print the model configuration(s) and exit.")
flags.DEFINE_boolean("skip_visualize", False, "Do not draw the model's pictures.")


def parse_model_nums(text: str) -> list[int]:
    """`"0-3,7"` -> `[0, 1, 2, 3, 7]` (ranges inclusive, order kept, no repeats)."""
    numbers: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                first, last = (int(x) for x in part.split("-"))
                numbers.extend(range(first, last + 1))
            elif part:
                numbers.append(int(part))
        except ValueError:
            raise ValueError(f"--model_nums must look like 0-9 or 0,4,7, got {text!r}") from None
    if not numbers or len(set(numbers)) != len(numbers):
        raise ValueError(f"--model_nums must list distinct model numbers, got {text!r}")
    return numbers


def _check_model_num(model_num: int | None) -> None:
    if model_num is not None and model_num < 0:
        raise ValueError(f"--model_num must be a model number >= 0, got {model_num}")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    unused = [n for n in ("model_dir", "gin_config", "representation") if FLAGS[n].present]
    if unused:
        raise app.UsageError(
            f"tfdis_reproduce does not take --{', --'.join(unused)}: the study sets the configs "
            "and representations, and the model directory is <output_directory>/<model_num>."
        )

    if FLAGS.only_print:  # without run_reporting_errors, which loads TensorFlow
        try:
            _check_model_num(FLAGS.model_num)
            print_study(FLAGS.study, -1 if FLAGS.model_num is None else FLAGS.model_num)
        except ValueError as error:
            print(f"tfdis_reproduce: error: {error}", file=sys.stderr)
            sys.exit(1)
        return

    def run_model() -> None:
        from tfdis.cli.evaluate import format_summary

        block = FLAGS.model_nums is not None
        _check_model_num(FLAGS.model_num)
        if FLAGS.output_directory is None or (FLAGS.model_num is None) == (not block):
            raise ValueError(
                "--output_directory and one of --model_num or --model_nums are required unless "
                "--only_print."
            )
        options = dict(
            overwrite=FLAGS.overwrite,
            visualize=not FLAGS.skip_visualize,
            gin_bindings=FLAGS.gin_bindings,
        )
        if block:
            model_nums = parse_model_nums(FLAGS.model_nums)
            outcomes = reproduce_block(
                FLAGS.study,
                model_nums,
                FLAGS.output_directory,
                models_per_chunk=FLAGS.models_per_chunk,
                **options,
            )
        else:
            outcomes = [reproduce(FLAGS.study, FLAGS.model_num, FLAGS.output_directory, **options)]
        for outcome in outcomes:
            for representation, all_results in outcome["evaluation"].items():
                print(f"{outcome['model_dir']} ({representation}):")
                print(format_summary(all_results))

    common.run_reporting_errors("tfdis_reproduce", run_model)


def run() -> None:
    flags.mark_flag_as_required("study")
    app.run(main)


if __name__ == "__main__":
    run()
