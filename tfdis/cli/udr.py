"""`tfdis_udr --model_dirs=GLOB --output_path=DIR [--variant=lasso|spearman] [--overwrite]`.

Scores every trained run matching the glob (a set trained with the same hyperparameters and
different seeds) with UDR (Duan et al., ICLR 2020; `tfdis.evaluation.udr`), using
`gin_configs/udr/udr.gin` (Lasso) or `udr_spearman.gin` plus `--gin_config` / `--gin_bindings`.
Writes dlib's result keys to `DIR/results/`, one `model_dir,model_score` line per model to
`DIR/udr_scores.csv`, and each model's score to `<model_dir>/metrics/mean/udr/`, where
`tfdis_aggregate` shows it as the column `udr.model_score`. Prints one score per model.

With `--group_by_config` (the default) the runs are first split by training configuration
(`tfdis.evaluation.udr.group_by_config`), so one glob over a whole study scores every
hyperparameter setting against its own seeds: set k goes to `DIR/config_<k>/`, and
`DIR/udr_scores.csv` lists every model with its set. A configuration with a single run cannot be
compared and is skipped (and reported).
"""

from __future__ import annotations

import glob
import os

from absl import app, flags

from tfdis.cli import common

FLAGS = flags.FLAGS

VARIANTS = {"lasso": "udr/udr.gin", "spearman": "udr/udr_spearman.gin"}

flags.DEFINE_enum("variant", "lasso", sorted(VARIANTS), "Similarity of two models' latents.")
flags.DEFINE_boolean(
    "group_by_config",
    True,
    "Score each training configuration (every gin value but the seeds) as its own set.",
)


def expand_model_dirs(pattern: str) -> list[str]:
    """The trained run directories (holding `saved_model/`) matching comma-separated globs."""
    from tfdis.utils import layout

    matches = sorted(
        {path for part in pattern.split(",") if part for path in glob.glob(part.strip())}
    )
    model_dirs = [m for m in matches if os.path.isdir(layout.saved_model_dir(m))]
    if len(model_dirs) < 2:
        raise ValueError(
            f"--model_dirs={pattern!r} matches {len(model_dirs)} trained run(s) (directories "
            "with saved_model/); UDR compares at least 2 seeds"
        )
    return model_dirs


def udr_run(
    model_dirs_pattern: str,
    output_path: str,
    variant: str = "lasso",
    overwrite: bool = False,
    gin_config_files: list[str] | tuple[str, ...] = (),
    gin_bindings: list[str] | tuple[str, ...] = (),
    group_by_config: bool = True,
) -> dict[str, float]:
    """Scores the runs matching `model_dirs_pattern`; returns `{model_dir: UDR score}`.

    Every output (the sets' and each model's) is checked before anything is written: an
    existing one is refused unless `overwrite`.
    """
    import gin

    from tfdis.evaluation import udr
    from tfdis.utils import gin_utils, layout, results

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    model_dirs = expand_model_dirs(model_dirs_pattern)
    groups = udr.group_by_config(model_dirs) if group_by_config else [model_dirs]
    sets = [g for g in groups if len(g) > 1]
    if not sets:
        raise ValueError(
            f"--model_dirs={model_dirs_pattern!r} holds no two runs of one training "
            f"configuration ({len(groups)} configurations); UDR compares seeds of one setting"
        )
    if len(sets) == 1:
        set_dirs = [output_path]
    else:
        set_dirs = [os.path.join(output_path, f"config_{k}") for k in range(len(sets))]
    scored = [d for group in sets for d in group]
    outputs = [output_path] + [layout.metric_dir(d, "mean", udr.UDR_METRIC) for d in scored]
    existing = [p for p in outputs if os.path.isdir(p) and os.listdir(p)]
    if existing and not overwrite:
        raise FileExistsError(
            f"UDR output {existing[0]} already exists ({len(existing)} of {len(outputs)} "
            "outputs); pass --overwrite to replace them."
        )
    gin_utils.parse_config([VARIANTS[variant], *gin_config_files], gin_bindings)
    scores = {}
    try:
        for path in outputs:
            results.ensure_fresh_directory(path, True, "UDR output")
        for group, set_dir in zip(sets, set_dirs, strict=True):
            set_scores = udr.evaluate_udr(group, set_dir)["model_scores"]
            scores.update(zip(group, set_scores, strict=True))
    finally:
        gin.clear_config()
    if len(sets) > 1:
        lines = ["model_dir,config,model_score"]
        lines += [f"{d},{k},{scores[d]!r}" for k, group in enumerate(sets) for d in group]
        results.atomic_write_text(
            os.path.join(output_path, udr.SCORES_FILE), "\n".join(lines) + "\n"
        )
    return scores


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(
            f"unexpected arguments: {argv[1:]} (quote --model_dirs so the shell does not expand it)"
        )

    def run_and_print() -> None:
        scores = udr_run(
            FLAGS.model_dirs,
            FLAGS.output_path,
            FLAGS.variant,
            FLAGS.overwrite,
            FLAGS.gin_config,
            FLAGS.gin_bindings,
            FLAGS.group_by_config,
        )
        width = max(len(d) for d in scores)
        print(f"{'model_dir'.ljust(width)}  udr")
        for model_dir, score in scores.items():
            print(f"{model_dir.ljust(width)}  {score:.4f}")
        skipped = sorted(set(expand_model_dirs(FLAGS.model_dirs)) - set(scores))
        if skipped:
            print(f"skipped (no other seed of their configuration): {', '.join(skipped)}")

    common.run_reporting_errors("tfdis_udr", run_and_print)


def run() -> None:
    flags.mark_flag_as_required("model_dirs")
    flags.mark_flag_as_required("output_path")
    app.run(main)


if __name__ == "__main__":
    run()
