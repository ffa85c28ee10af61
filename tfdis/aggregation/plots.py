"""The seed papers' study figures, drawn from the aggregated table (`aggregate.collect_results`).

- `mig_by_correlation.png` (paper 002, Figure 1): violins of MIG per model, one violin per
  posterior correlation, one panel per dataset (columns) and latent size (rows).
- `tc_by_model.png` (paper 003, Figure 3): per model, TC_sample (solid) and TC_mean (dashed)
  against the regularization strength.
- `tc_vs_strength.png` (paper 003, Figure 4): TC_mean (left) and TC_sample (right) against the
  regularization strength, the models side by side.
- `mig_vs_beta.png` (paper 004, Figure 2): MIG, and the negative ELBO when the table has it,
  against beta for the models whose strength is a beta. The MIG is Chen et al.'s
  (`mig_exact.mig_exact`) when every row has it, as in the paper, else dlib's `mig`.

Curves are means over the seeds (the rows sharing model and strength): error bars give the
standard deviation, shaded bands the 5th-95th percentiles. A plot is drawn only when the table
has its columns; the strength plots also need some model trained at two strengths or more.
Figures are drawn with matplotlib's Agg canvas (no display, no pyplot state) and written
atomically.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from tfdis.utils import results

MIG = "mig.discrete_mig"
MIG_EXACT = "mig_exact.mig_exact"
CORRELATION = "train_config.posterior.correlation"
DATASET = "train_config.dataset.name"
NUM_LATENT = "train_config.encoder.num_latent"
TC_MEAN = "tc_mean_sample.tc_mean"
TC_SAMPLE = "tc_mean_sample.tc_sample"
ELBO = "train_results.elbo"
STRENGTH = "regularization_strength"
STRENGTH_PARAMETER = "regularization_parameter"

MIG_BY_CORRELATION = "mig_by_correlation.png"
TC_BY_MODEL = "tc_by_model.png"
TC_VS_STRENGTH = "tc_vs_strength.png"
MIG_VS_BETA = "mig_vs_beta.png"
PLOT_FILES = (MIG_BY_CORRELATION, TC_BY_MODEL, TC_VS_STRENGTH, MIG_VS_BETA)

_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _unique(values: Iterable[Any]) -> list[Any]:
    """Distinct values in first-seen order."""
    return list(dict.fromkeys(values))


def _sorted_unique(values: Iterable[Any]) -> list[Any]:
    values = _unique(values)
    try:
        return sorted(values)
    except TypeError:
        return values


def _save(figure: Figure, path: str) -> None:
    """Writes `figure` as a PNG through a temporary file and a rename."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".png")
    try:
        os.chmod(tmp, results.default_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _rows_with(rows: list[dict[str, Any]], *numeric: str) -> list[dict[str, Any]]:
    return [row for row in rows if all(is_number(row.get(column)) for column in numeric)]


def _series_label(rows: list[dict[str, Any]]) -> Callable[[dict[str, Any]], str]:
    """Curves are per model, and per dataset too when the table has several."""
    several_datasets = len(_unique(row.get(DATASET) for row in rows)) > 1
    if several_datasets:
        return lambda row: f"{row['model']} ({row.get(DATASET)})"
    return lambda row: str(row["model"])


def _swept_series_label(
    rows: list[dict[str, Any]], x: str
) -> Callable[[dict[str, Any]], str] | None:
    """The series label of `rows` if some series has two x values or more, else None."""
    if not rows:
        return None
    label = _series_label(rows)
    values: dict[str, set] = {}
    for row in rows:
        values.setdefault(label(row), set()).add(row[x])
    return label if any(len(v) >= 2 for v in values.values()) else None


def _curve(rows: list[dict[str, Any]], x: str, y: str) -> tuple[np.ndarray, ...]:
    """Per distinct x: x, mean, std, 5th and 95th percentile of y."""
    xs = sorted(_unique(row[x] for row in rows))
    groups = [np.array([row[y] for row in rows if row[x] == value], float) for value in xs]
    return (
        np.array(xs, float),
        np.array([g.mean() for g in groups]),
        np.array([g.std() for g in groups]),
        np.array([np.percentile(g, 5) for g in groups]),
        np.array([np.percentile(g, 95) for g in groups]),
    )


def _strength_axis(axes, xs: Iterable[float], label: str) -> None:
    """Log scale for sweeps over a decade or more; ticks at the swept values."""
    xs = sorted(set(xs))
    if min(xs) > 0 and max(xs) / min(xs) >= 10:
        axes.set_xscale("log")
    axes.set_xticks(xs)
    axes.set_xticklabels([f"{x:g}" for x in xs])
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xlabel(label)


def _strength_label(rows: list[dict[str, Any]]) -> str:
    """`gamma` or `beta` when every model's strength is one, else `regularization strength`."""
    names = _unique(str(row.get(STRENGTH_PARAMETER)).rsplit(".", 1)[-1] for row in rows)
    return names[0] if len(names) == 1 else "regularization strength"


def plot_mig_by_correlation(rows: list[dict[str, Any]], path: str) -> bool:
    """Paper 002's Figure 1: MIG violins by posterior correlation, per model and dataset.

    Returns:
        Whether the plot was drawn (the table needs MIG and the posterior correlation).
    """
    rows = _rows_with(rows, MIG, CORRELATION)
    if not rows:
        return False
    datasets = _unique(row.get(DATASET) for row in rows)  # study order
    latents = _sorted_unique(row.get(NUM_LATENT) for row in rows)
    models = _unique(row["model"] for row in rows)
    correlations = sorted(_unique(row[CORRELATION] for row in rows))
    width = 0.8 / len(correlations)
    panel_width = max(3.2, 0.6 + 1.6 * len(models))
    figure = Figure(figsize=(panel_width * len(datasets), 3.2 * len(latents)))
    grid = figure.subplots(len(latents), len(datasets), squeeze=False)
    for r, num_latent in enumerate(latents):
        for c, dataset in enumerate(datasets):
            axes = grid[r][c]
            panel = [
                row
                for row in rows
                if row.get(DATASET) == dataset and row.get(NUM_LATENT) == num_latent
            ]
            for i, model in enumerate(models):
                for j, correlation in enumerate(correlations):
                    values = [
                        row[MIG]
                        for row in panel
                        if row["model"] == model and row[CORRELATION] == correlation
                    ]
                    if not values:
                        continue
                    position = i - 0.4 + width * (j + 0.5)
                    color = _COLORS[j % len(_COLORS)]
                    if len(set(values)) >= 2:  # a kernel density needs spread
                        parts = axes.violinplot(
                            [values], positions=[position], widths=0.9 * width, showmedians=True
                        )
                        for body in parts["bodies"]:
                            body.set_facecolor(color)
                            body.set_edgecolor(color)
                            body.set_alpha(0.6)
                        for key in ("cbars", "cmins", "cmaxes", "cmedians"):
                            parts[key].set_color(color)
                    axes.scatter(
                        [position] * len(values),
                        values,
                        s=10,
                        color=color,
                        edgecolors="black",
                        linewidths=0.5,
                        zorder=3,
                    )
            axes.set_xticks(range(len(models)))
            axes.set_xticklabels(models)
            axes.set_xlim(-0.6, len(models) - 0.4)
            title = str(dataset) if num_latent is None else f"{dataset}, d = {num_latent}"
            axes.set_title(title)
            axes.set_ylabel("MIG")
    grid[0][-1].legend(
        handles=[
            Patch(color=_COLORS[j % len(_COLORS)], alpha=0.6, label=f"correlation {s:g}")
            for j, s in enumerate(correlations)
        ],
        loc="best",
        fontsize="small",
    )
    figure.tight_layout()
    _save(figure, path)
    return True


def plot_tc_by_model(rows: list[dict[str, Any]], path: str) -> bool:
    """Paper 003's Figure 3: per model, TC_sample (solid) and TC_mean (dashed) vs strength.

    Returns:
        Whether the plot was drawn (TC columns present and some model at two strengths).
    """
    rows = _rows_with(rows, TC_MEAN, TC_SAMPLE, STRENGTH)
    label = _swept_series_label(rows, STRENGTH)
    if label is None:
        return False
    series = _unique(label(row) for row in rows)
    figure = Figure(figsize=(4.2 * len(series), 3.4))
    grid = figure.subplots(1, len(series), squeeze=False)
    for axes, name in zip(grid[0], series, strict=True):
        subset = [row for row in rows if label(row) == name]
        for column, style, color in ((TC_SAMPLE, "-", "tab:blue"), (TC_MEAN, "--", "tab:orange")):
            xs, mean, std, _, _ = _curve(subset, STRENGTH, column)
            axes.errorbar(
                xs,
                mean,
                yerr=std,
                linestyle=style,
                marker="o",
                color=color,
                capsize=3,
                label="TC_sample" if column == TC_SAMPLE else "TC_mean",
            )
        _strength_axis(axes, (row[STRENGTH] for row in rows), _strength_label(subset))
        axes.set_ylabel("total correlation (nats)")
        axes.set_title(name)
        axes.legend()
    figure.tight_layout()
    _save(figure, path)
    return True


def plot_tc_vs_strength(rows: list[dict[str, Any]], path: str) -> bool:
    """Paper 003's Figure 4: TC_mean and TC_sample against strength, models compared.

    Returns:
        Whether the plot was drawn (TC columns present and some model at two strengths).
    """
    rows = _rows_with(rows, TC_MEAN, TC_SAMPLE, STRENGTH)
    label = _swept_series_label(rows, STRENGTH)
    if label is None:
        return False
    series = _unique(label(row) for row in rows)
    figure = Figure(figsize=(9.0, 3.6))
    grid = figure.subplots(1, 2, squeeze=False)
    for axes, column, title in (
        (grid[0][0], TC_MEAN, "TC_mean"),
        (grid[0][1], TC_SAMPLE, "TC_sample"),
    ):
        for k, name in enumerate(series):
            xs, mean, std, _, _ = _curve(
                [row for row in rows if label(row) == name], STRENGTH, column
            )
            axes.errorbar(
                xs,
                mean,
                yerr=std,
                marker="o",
                capsize=3,
                color=_COLORS[k % len(_COLORS)],
                label=name,
            )
        _strength_axis(axes, (row[STRENGTH] for row in rows), _strength_label(rows))
        axes.set_ylabel(f"{title} (nats)")
        axes.set_title(title)
        axes.legend()
    figure.tight_layout()
    _save(figure, path)
    return True


def mig_vs_beta_column(rows: list[dict[str, Any]]) -> str:
    """Paper 004's MIG column: `mig_exact.mig_exact` when every row has it, else dlib's."""
    if rows and all(is_number(row.get(MIG_EXACT)) for row in rows):
        return MIG_EXACT
    return MIG


def plot_mig_vs_beta(rows: list[dict[str, Any]], path: str) -> bool:
    """Paper 004's Figure 2: MIG (and the negative ELBO) against beta, per model.

    Returns:
        Whether the plot was drawn (MIG present and some beta model at two betas or more).
    """
    beta_rows = [row for row in rows if str(row.get(STRENGTH_PARAMETER) or "").endswith(".beta")]
    mig = mig_vs_beta_column(beta_rows)
    rows = _rows_with(beta_rows, mig, STRENGTH)
    label = _swept_series_label(rows, STRENGTH)
    if label is None:
        return False
    panels = [(mig, "MIG (Chen et al.)" if mig == MIG_EXACT else "MIG")]
    if all(is_number(row.get(ELBO)) for row in rows):
        panels.append((ELBO, "negative ELBO (nats)"))
    series = _unique(label(row) for row in rows)
    figure = Figure(figsize=(4.5 * len(panels), 3.6))
    grid = figure.subplots(1, len(panels), squeeze=False)
    for axes, (column, title) in zip(grid[0], panels, strict=True):
        for k, name in enumerate(series):
            color = _COLORS[k % len(_COLORS)]
            xs, mean, _, low, high = _curve(
                [row for row in rows if label(row) == name], STRENGTH, column
            )
            axes.plot(xs, mean, marker="o", color=color, label=name)
            axes.fill_between(xs, low, high, color=color, alpha=0.2, linewidth=0)
        _strength_axis(axes, (row[STRENGTH] for row in rows), "beta")
        axes.set_ylabel(title)
        axes.set_title(f"{title} vs beta")
        axes.legend()
    figure.tight_layout()
    _save(figure, path)
    return True


PLOTS: tuple[tuple[str, Callable[[list[dict[str, Any]], str], bool]], ...] = (
    (MIG_BY_CORRELATION, plot_mig_by_correlation),
    (TC_BY_MODEL, plot_tc_by_model),
    (TC_VS_STRENGTH, plot_tc_vs_strength),
    (MIG_VS_BETA, plot_mig_vs_beta),
)


def draw_study_plots(rows: list[dict[str, Any]], output_path: str) -> list[str]:
    """Draws every plot whose columns the table has into `output_path`.

    Args:
        rows: the aggregated table (`collect_results`).
        output_path: an existing directory.

    Returns:
        The paths of the PNG files written.
    """
    written = []
    for name, plot in PLOTS:
        path = os.path.join(output_path, name)
        if plot(rows, path):
            written.append(path)
    return written
