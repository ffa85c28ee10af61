"""One results table per study: every evaluation of every model, one row per model.

Each metric run writes `<model_dir>/metrics/<representation>/<metric>/results/aggregate/
evaluation.json` (`tfdis.utils.results.update_result_directory`): that metric's scores
(`evaluation_results.*`) beside the trained model's `train_config.*` and `train_results.*` and
the postprocessing's keys. The evaluations of one trained model share its `train_results.uuid`;
`collect_results` merges them into one row per (model, representation) with these columns:

- `model_dir`, `representation`: the run and the representation (read from the path when it
  follows tfdis's layout, else `""` and the postprocessing function's name);
- `model`: the model family (`train_config.model.name`, which `tfdis_reproduce` sets, else
  `model.model` without `@` and `()`);
- `regularization_parameter`, `regularization_strength`: the gin parameter of the model's main
  hyperparameter (`STRENGTH_PARAMETERS`, e.g. `factor_vae.gamma`) and its value;
- every `train_config.*` and `train_results.*` key, gin values parsed to numbers where they are
  numbers (`'0.9'` -> 0.9, `'@vae()'` stays a string);
- `<metric>.<key>` for every result of every metric (`mig.discrete_mig`,
  `tc_mean_sample.tc_mean`, `mig.elapsed_time`), except the per-evaluation `uuid`. The
  metrics' own settings (`evaluation_config.*`) stay in their result files.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import io
import json
import os
import re
import shutil
import tempfile
from typing import Any

from tfdis.utils import results

# The main hyperparameter of each model factory (the x axis of the strength plots).
STRENGTH_PARAMETERS = {
    "@vae()": "vae.beta",
    "@beta_tc_vae()": "beta_tc_vae.beta",
    "@factor_vae()": "factor_vae.gamma",
    "@rtc_factor_vae()": "rtc_factor_vae.gamma",
    "@rtc_beta_tc_vae()": "rtc_beta_tc_vae.beta",
    "@annealed_vae()": "annealed_vae.c_max",
    "@dip_vae()": "dip_vae.lambda_od",
}
LEADING_COLUMNS = (
    "model_dir",
    "representation",
    "model",
    "regularization_parameter",
    "regularization_strength",
)
CSV_FILE = "results.csv"
JSON_FILE = "results.json"

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)")
_INTEGER = re.compile(r"[+-]?\d+")


def parse_gin_value(value: Any) -> Any:
    """A gin value as printed (`'0.9'`, `'10'`, `'1e-08'`) as a number; anything else as is."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return value


def _configurable_name(reference: Any) -> str:
    """`'@mig'` -> `'mig'`, `'@vae()'` -> `'vae'`, `'@mean_representation'` -> `'mean_representation'`."""
    return str(reference).lstrip("@").removesuffix("()")


def _layout_parts(path: str) -> tuple[str, str, str] | None:
    """`(model_dir, representation, metric)` of `.../metrics/<rep>/<metric>/results/aggregate/x.json`."""
    parts = os.path.normpath(path).split(os.sep)
    if len(parts) >= 7 and parts[-6] == "metrics" and parts[-3:-1] == ["results", "aggregate"]:
        return os.sep.join(parts[:-6]) or os.sep, parts[-5], parts[-4]
    return None


def _model_label(train_config: dict[str, Any]) -> str:
    name = train_config.get("train_config.model.name")
    if isinstance(name, str) and name:
        return name
    return _configurable_name(train_config.get("train_config.model.model", ""))


def _strength(train_config: dict[str, Any]) -> tuple[str | None, Any]:
    parameter = STRENGTH_PARAMETERS.get(str(train_config.get("train_config.model.model")))
    if parameter is None:
        return None, None
    return parameter, train_config.get(f"train_config.{parameter}")


def _sort_key(row: dict[str, Any]) -> tuple:
    model_num = row.get("train_config.model.model_num")
    numbered = isinstance(model_num, int)
    return (
        0 if numbered else 1,
        model_num if numbered else 0,
        row["model_dir"],
        row["representation"],
    )


def collect_results(result_file_pattern: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Reads every evaluation aggregate matching the glob and merges them by model.

    Args:
        result_file_pattern: a glob (`**` allowed), e.g.
            `DIR/*/metrics/mean/*/results/aggregate/evaluation.json`.

    Returns:
        `(rows, columns)`: one row per (trained model, representation), ordered by
        `train_config.model.model_num` then model directory; `columns` is the union of the rows'
        keys in table order (`LEADING_COLUMNS`, `train_config.*`, `train_results.*`, metrics).

    Raises:
        FileNotFoundError: nothing matches the pattern.
        ValueError: a file is not an evaluation aggregate of a trained run, or one model holds
            two results of the same metric and representation.
    """
    paths = sorted(glob.glob(result_file_pattern, recursive=True))
    if not paths:
        raise FileNotFoundError(f"no result files match {result_file_pattern!r}")
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    sources: dict[tuple[str, str, str], str] = {}
    for path in paths:
        record = results.read_json(path)
        uuid = record.get("train_results.uuid") if isinstance(record, dict) else None
        if uuid is None or not any(key.startswith("evaluation_results.") for key in record):
            raise ValueError(
                f"{path} is not an evaluation aggregate of a trained tfdis run (it needs "
                "train_results.uuid and evaluation_results.*)"
            )
        layout_parts = _layout_parts(path)
        if layout_parts is not None:
            model_dir, representation, metric = layout_parts
        else:
            model_dir = ""
            representation = _configurable_name(
                record.get("postprocess_config.postprocess.postprocess_fn", "")
            ).removesuffix("_representation")
            metric = _configurable_name(record.get("evaluation_config.evaluation.evaluation_fn"))
        key = (uuid, representation)
        if (uuid, representation, metric) in sources:
            raise ValueError(
                f"{path} and {sources[(uuid, representation, metric)]} both hold metric {metric} "
                f"of the model with train_results.uuid {uuid} ({representation})"
            )
        sources[(uuid, representation, metric)] = path
        if key not in rows:
            train = {
                k: parse_gin_value(v) if k.startswith("train_config.") else v
                for k, v in record.items()
                if k.startswith(("train_config.", "train_results."))
            }
            parameter, strength = _strength(train)
            rows[key] = {
                "model_dir": model_dir,
                "representation": representation,
                "model": _model_label(train),
                "regularization_parameter": parameter,
                "regularization_strength": strength,
                **train,
            }
        for k, v in record.items():
            if k.startswith("evaluation_results.") and k != "evaluation_results.uuid":
                rows[key][f"{metric}.{k.removeprefix('evaluation_results.')}"] = v
    table = sorted(rows.values(), key=_sort_key)
    keys = {k for row in table for k in row}
    train_columns = sorted(k for k in keys if k.startswith("train_config."))
    train_columns += sorted(k for k in keys if k.startswith("train_results."))
    metric_columns = sorted(keys - set(LEADING_COLUMNS) - set(train_columns))
    columns = [*LEADING_COLUMNS, *train_columns, *metric_columns]
    return [{c: row.get(c) for c in columns} for row in table], columns


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


def format_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """The table as CSV text (empty cells for missing values)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


@dataclasses.dataclass
class Aggregation:
    """What `aggregate_results` produced.

    Attributes:
        rows: the table, one dict per model (every column present, `None` where missing).
        columns: column names in table order.
        files: the files written (`results.csv`, `results.json`, `results_by_config.csv`, then
            the plots).
    """

    rows: list[dict[str, Any]]
    columns: list[str]
    files: list[str]


def aggregate_results(
    result_file_pattern: str, output_path: str, overwrite: bool = False
) -> Aggregation:
    """Writes the study table (`results.csv`, `results.json`) and plots into `output_path`.

    Args:
        result_file_pattern: glob of evaluation aggregates (see `collect_results`).
        output_path: the output directory (created if needed).
        overwrite: replace an existing table and plots.

    Returns:
        The table and the files written.

    Raises:
        FileExistsError: `output_path` already holds a table and `overwrite` is False.
        FileNotFoundError, ValueError: see `collect_results`.
    """
    from tfdis.aggregation import plots, seeds

    ours = [CSV_FILE, JSON_FILE, seeds.BY_CONFIG_FILE, *plots.PLOT_FILES]
    existing = [name for name in ours if os.path.exists(os.path.join(output_path, name))]
    if existing and not overwrite:
        raise FileExistsError(
            f"{output_path} already holds {', '.join(existing)}; pass --overwrite to replace them."
        )
    rows, columns = collect_results(result_file_pattern)
    if os.path.lexists(output_path) and not os.path.isdir(output_path):
        raise FileExistsError(f"--output_path {output_path} is an existing file, not a directory.")
    os.makedirs(output_path, exist_ok=True)
    from tfdis.aggregation.hparams import HPARAMS_DIR, write_hparams

    # Everything is written beside the old table first; only a complete new set replaces it.
    staging = tempfile.mkdtemp(dir=output_path, prefix=".tmp-aggregate-")
    try:
        results.atomic_write_text(os.path.join(staging, CSV_FILE), format_csv(rows, columns))
        results.atomic_write_text(
            os.path.join(staging, JSON_FILE), results.to_json_text(rows, indent=1, sort_keys=False)
        )
        results.atomic_write_text(
            os.path.join(staging, seeds.BY_CONFIG_FILE),
            format_csv(*seeds.spread_over_seeds(rows, columns)),
        )
        plot_names = [os.path.basename(p) for p in plots.draw_study_plots(rows, staging)]
        names = [CSV_FILE, JSON_FILE, seeds.BY_CONFIG_FILE, *plot_names]
        write_hparams(rows, columns, staging)
        for name in names:
            os.replace(os.path.join(staging, name), os.path.join(output_path, name))
        hparams_dir = os.path.join(output_path, HPARAMS_DIR)
        shutil.rmtree(hparams_dir, ignore_errors=True)
        os.replace(os.path.join(staging, HPARAMS_DIR), hparams_dir)
        for name in existing:  # a plot whose columns are gone must not linger
            if name not in names:
                os.remove(os.path.join(output_path, name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    paths = [os.path.join(output_path, name) for name in names]
    return Aggregation(rows, columns, [*paths, hparams_dir])
