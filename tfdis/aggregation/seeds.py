"""The spread of every score over the seeds of one configuration (`results_by_config.csv`).

A study trains each configuration (model, hyperparameters, dataset) with several seeds; a score
without its spread over seeds misleads. `spread_over_seeds` groups the rows of the study table
(`tfdis.aggregation.aggregate.collect_results`) by representation and every `train_config.*`
value except the seed-like ones (`SEED_SUFFIXES`), and gives per group `num_seeds` and, for every
numeric metric column `m`, `m.mean` and `m.std` (sample standard deviation, ddof 1; empty for a
single seed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# train_config keys that differ between the seeds of one configuration.
SEED_SUFFIXES = ("random_seed", "model_num", "seed")
BY_CONFIG_FILE = "results_by_config.csv"
_ROW_COLUMNS = ("model_dir", "representation", "model", "regularization_parameter",
                "regularization_strength")  # fmt: skip


def _is_seed_key(column: str) -> bool:
    return column.startswith("train_config.") and column.endswith(SEED_SUFFIXES)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def spread_over_seeds(
    rows: list[dict[str, Any]], columns: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Mean and standard deviation of each metric over the seeds of each configuration.

    Args:
        rows: the study table, one dict per (model, representation).
        columns: its columns in order.

    Returns:
        `(rows, columns)`: one row per configuration in first-appearance order, with the
        configuration's columns (`representation`, `model`, `regularization_*`, the non-seed
        `train_config.*`), `num_seeds`, then `m.mean`, `m.std` per metric column `m`.
    """
    config_columns = [
        c
        for c in columns
        if c in _ROW_COLUMNS[1:] or (c.startswith("train_config.") and not _is_seed_key(c))
    ]
    metric_columns = [
        c
        for c in columns
        if c not in _ROW_COLUMNS
        and not c.startswith(("train_config.", "train_results."))
        and any(_is_number(row.get(c)) for row in rows)
    ]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        key = tuple(repr(row.get(c)) for c in config_columns)
        groups.setdefault(key, []).append(row)
    table = []
    for members in groups.values():
        out = {c: members[0].get(c) for c in config_columns}
        out["num_seeds"] = len(members)
        for c in metric_columns:
            values = np.array([r[c] for r in members if _is_number(r.get(c))], dtype=np.float64)
            out[f"{c}.mean"] = float(values.mean()) if len(values) else None
            out[f"{c}.std"] = float(values.std(ddof=1)) if len(values) > 1 else None
        table.append(out)
    spread_columns = [f"{c}.{s}" for c in metric_columns for s in ("mean", "std")]
    return table, [*config_columns, "num_seeds", *spread_columns]
