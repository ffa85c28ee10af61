"""Times the metric suite on a trained model, with and without the code table, side by side.

For each metric config: seconds with `evaluation.use_code_table = False` (every observation a
metric draws is encoded, as before issue 19) and with the table (the grid is encoded once; the
encode seconds are printed on their own line; with `mig_exact` also the posterior table's), and
whether the scores agree. Results go to a
temporary directory, never into the model's `metrics/`. Each time is wall seconds and, in
brackets, the process's CPU seconds (all threads), which a busy shared machine distorts less.

Usage (also reached as `benchmarks/bench_metrics.py --model_dir=...`):
    TF_CPP_MIN_LOG_LEVEL=2 nice -n 10 python benchmarks/bench_evaluate_model.py \
        --model_dir=DIR [--metrics=beta_vae_sklearn,dci,...] [--mode=both|table|encode]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# dlib's unsupervised_study_v1 metric configs (tfdis's copies in gin_configs/metrics/).
# Those that encode most first; DCI and the downstream tasks are dominated by their fits.
STUDY_METRICS = (
    "beta_vae_sklearn",
    "factor_vae_metric",
    "mig",
    "sap_score",
    "irs",
    "modularity_explicitness",
    "downstream_task_logistic_regression",
    "dci",
    "downstream_task_boosted_trees",
)


def _scores(results: dict) -> dict:
    return {k: v for k, v in results.items() if k not in ("elapsed_time", "uuid")}


def _agree(a: dict, b: dict) -> str:
    a, b = _scores(a), _scores(b)
    if set(a) != set(b):
        return "keys differ"
    worst = max(
        (abs(float(a[k]) - float(b[k])) for k in a if isinstance(a[k], (int, float))), default=0.0
    )
    return "equal" if worst == 0.0 else f"max |diff| {worst:.2e}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--metrics", default=",".join(STUDY_METRICS))
    parser.add_argument("--mode", default="both", choices=["both", "table", "encode"])
    parser.add_argument("--representation", default="mean")
    parser.add_argument("--gin_bindings", action="append", default=[])
    parser.add_argument(
        "--reuse_table",
        action="store_true",
        help="keep a stored code table instead of timing its encoding again",
    )
    args = parser.parse_args(argv)

    from tfdis.data.named_data import get_named_ground_truth_data
    from tfdis.evaluation import code_table
    from tfdis.evaluation.evaluate import evaluate_with_gin, training_dataset_name
    from tfdis.evaluation.metrics import dci
    from tfdis.evaluation.saved_model_functions import load_representation_function
    from tfdis.postprocessing.runs import postprocess_run
    from tfdis.utils import layout, step_configs

    names = [m for m in args.metrics.split(",") if m]
    available = set(step_configs.available_names("metrics"))
    missing = [m for m in names if m not in available and not step_configs.is_config_path(m)]
    if missing:
        print(f"skipped (no such metric config here): {', '.join(missing)}")
    configs = step_configs.resolve_all("metrics", [m for m in names if m not in missing])
    postprocessed = layout.postprocess_dir(args.model_dir, args.representation)
    if not os.path.isdir(layout.saved_model_dir(postprocessed)):
        start = time.time()
        postprocess_run(args.model_dir, args.representation, overwrite=True)
        print(f"postprocess {time.time() - start:.1f} s")

    encode_seconds = None
    if args.mode in ("both", "table"):
        data = get_named_ground_truth_data(training_dataset_name(postprocessed))
        saved_model = layout.saved_model_dir(postprocessed)
        tables = [(code_table.CODES, "code table", "codes", load_representation_function)]
        if "mig_exact" in names:
            # Exact MIG's posterior table (means and log-variances), timed on its own too.
            from tfdis.evaluation.saved_model_functions import SavedModelPosterior

            tables.append(
                (
                    code_table.POSTERIOR,
                    "posterior table",
                    "columns",
                    lambda d: code_table.encode_posterior_rows(SavedModelPosterior(d)),
                )
            )
        encode_seconds = 0.0
        for kind, label, unit, load_rows in tables:
            for path in code_table.table_paths(postprocessed, data, kind):
                if os.path.exists(path) and not args.reuse_table:
                    os.remove(path)
            rows = load_rows(saved_model)
            start, cpu_start = time.time(), time.process_time()
            table = code_table.load_or_build_table(postprocessed, data, rows, kind=kind)
            seconds = time.time() - start
            print(
                f"{label}: {table.shape[0]} observations x {table.shape[1]} {unit} encoded in "
                f"{seconds:.1f} s [{time.process_time() - cpu_start:.1f} CPU s]",
                flush=True,
            )
            encode_seconds += seconds

    modes = {"both": (False, True), "table": (True,), "encode": (False,)}[args.mode]
    out_root = tempfile.mkdtemp(prefix="bench_evaluate_")
    rows = []
    try:
        for config in configs:
            timings, cpu, results = {}, {}, {}
            for use_table in modes:
                output = os.path.join(out_root, f"{config.label}_{int(use_table)}")
                # DCI keeps its last fit for `unified_scores`; both modes draw the same codes,
                # so without this the second mode would time a cache hit.
                dci._LAST_FIT.clear()
                start, cpu_start = time.time(), time.process_time()
                results[use_table] = evaluate_with_gin(
                    postprocessed,
                    output,
                    True,
                    [config.config_file],
                    [*args.gin_bindings, f"evaluation.use_code_table = {use_table}"],
                )
                timings[use_table] = time.time() - start
                cpu[use_table] = time.process_time() - cpu_start
            agree = _agree(results[False], results[True]) if len(modes) == 2 else ""
            rows.append((config.label, timings.get(False), timings.get(True), agree, cpu))
            shown = {k: round(float(v), 4) for k, v in _scores(results[modes[-1]]).items()}
            print(
                f"{config.label:36s} encode {timings.get(False, float('nan')):7.1f} s "
                f"[{cpu.get(False, float('nan')):.1f}]  "
                f"table {timings.get(True, float('nan')):7.1f} s "
                f"[{cpu.get(True, float('nan')):.1f}]  {agree}  "
                f"{dict(list(shown.items())[:4])}",
                flush=True,
            )
    finally:
        shutil.rmtree(out_root, ignore_errors=True)

    print()
    print(
        f"{'metric':36s} {'encoding (s)':>13s} {'code table (s)':>15s} {'ratio':>6s} "
        f"{'CPU ratio':>9s}  scores"
    )
    for label, before, after, agree, cpu in rows:
        ratio = f"{before / after:6.1f}" if before and after else "     -"
        cpu_ratio = f"{cpu[False] / cpu[True]:9.1f}" if len(cpu) == 2 else f"{'-':>9s}"
        before_text = f"{before:13.1f}" if before is not None else f"{'-':>13s}"
        after_text = f"{after:15.1f}" if after is not None else f"{'-':>15s}"
        print(f"{label:36s} {before_text} {after_text} {ratio} {cpu_ratio}  {agree}")
    total_before = sum(r[1] for r in rows if r[1] is not None)
    total_after = sum(r[2] for r in rows if r[2] is not None)
    if encode_seconds is not None:
        print(f"{'encode the grid once (tables)':36s} {'':13s} {encode_seconds:15.1f}")
        total_after += encode_seconds
    if len(modes) == 2 and total_after:
        print(
            f"{'total':36s} {total_before:13.1f} {total_after:15.1f} "
            f"{total_before / total_after:6.1f}"
        )


if __name__ == "__main__":
    main()
