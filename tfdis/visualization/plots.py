"""Plots of the encoded means against each other and against the ground-truth factors.

- `plot_latent_pairs`: the pair plot of the RTC paper's Figures 13-15, a d x d grid with a
  scatter of every pair (z_i, z_j) off the diagonal and the histogram of z_i on it.
- `plot_heatmap` of `latent_factor_scores`: the latent x factor mutual information and R^2
  heatmaps of the RTC paper's Figure 8.
- `plot_latent_vs_factors`: beta-TCVAE's Figure S4, the mean of each latent per factor value,
  one curve per value of a colour factor (shape on dSprites).

Arrays use dlib's metric layout: codes `(num_codes, num_points)`, factors `(num_factors,
num_points)` holding factor indices. Figures are drawn with matplotlib's Agg canvas on a
`Figure` object (no pyplot state, no display needed) and written as PNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tfdis.evaluation.metrics import utils as metric_utils
from tfdis.visualization import images as image_utils

DEFAULT_NUM_BINS = 20
# Pixels per inch of the PNGs: a figure of (w, h) inches is written as round(100 w) x round(100 h).
DPI = 100


# ----------------------------------------------------------------------------------------------
# Statistics behind the plots.


def _check_codes_factors(codes: np.ndarray, factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, factors = np.asarray(codes, dtype=np.float64), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or codes.shape[1] != factors.shape[1]:
        raise ValueError(
            "codes and factors must be (num_codes, N) and (num_factors, N); got "
            f"{codes.shape} and {factors.shape}"
        )
    return codes, factors


def correlation_ratio(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """R^2 of predicting each code from each factor by the factor-value-conditional mean.

    This is the correlation ratio eta^2 = Var(E[z | v]) / Var(z) = 1 - SS_within / SS_total: the
    R^2 of the best predictor of z that is any function of the factor value v, so it sees
    nonlinear relations (a latent that encodes orientation in two peaks still scores high). A
    constant code scores 0.

    Args:
        codes: `(num_codes, N)` real codes.
        factors: `(num_factors, N)` factor indices.

    Returns:
        `(num_codes, num_factors)` values in [0, 1].
    """
    codes, factors = _check_codes_factors(codes, factors)
    result = np.zeros((codes.shape[0], factors.shape[0]))
    for k in range(factors.shape[0]):
        _, labels = np.unique(factors[k], return_inverse=True)
        labels = labels.reshape(-1)
        counts = np.bincount(labels)
        for i in range(codes.shape[0]):
            z = codes[i]
            total = np.sum((z - z.mean()) ** 2)
            if total <= 0.0:
                continue
            group_means = np.bincount(labels, weights=z) / counts
            within = np.sum((z - group_means[labels]) ** 2)
            result[i, k] = float(np.clip(1.0 - within / total, 0.0, 1.0))
    return result


def latent_factor_scores(
    codes: np.ndarray,
    factors: np.ndarray,
    num_bins: int = DEFAULT_NUM_BINS,
    categories: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Mutual information and R^2 between every latent and every factor (RTC Figure 8).

    The mutual information is MIG's: each code is discretized into `num_bins` equal-width bins
    over its range (`metrics.utils.histogram_discretize`), then I(z_i; v_k) is computed in nats
    from the joint counts (`metrics.utils.discrete_mutual_info`) and normalized by the factor's
    entropy H(v_k), so a code that determines the factor scores 1. Categorical codes, if given,
    are used as they are (no binning) and appended as extra rows of the mutual information.

    Args:
        codes: `(d, N)` encoded means.
        factors: `(num_factors, N)` factor indices.
        num_bins: bins of the discretization.
        categories: optional int `(C, N)` categorical codes.

    Returns:
        `mutual_information` `(d + C, F)` in nats, `normalized_mutual_information` `(d + C, F)`
        in [0, 1] (0 for a constant factor), `factor_entropy` `(F,)` and `r2` `(d, F)`, the
        correlation ratio eta^2 (`correlation_ratio`).
    """
    codes, factors = _check_codes_factors(codes, factors)
    discrete = metric_utils.histogram_discretize(codes, num_bins)
    if categories is not None:
        categories = np.asarray(categories).reshape(-1, codes.shape[1])
        discrete = np.concatenate([discrete, categories.astype(np.int64)])
    mutual_information = metric_utils.discrete_mutual_info(discrete, factors)
    entropy = metric_utils.discrete_entropy(factors)
    safe = np.where(entropy > 0, entropy, 1.0)
    normalized = np.where(entropy[None, :] > 0, mutual_information / safe[None, :], 0.0)
    return {
        "mutual_information": mutual_information,
        "normalized_mutual_information": np.clip(normalized, 0.0, 1.0),
        "factor_entropy": entropy,
        "r2": correlation_ratio(codes, factors),
    }


def mean_per_factor_value(
    codes: np.ndarray,
    factors: np.ndarray,
    factor_index: int,
    num_values: int,
    color_index: int | None = None,
    num_color_values: int = 1,
) -> np.ndarray:
    """Mean of each code per value of one factor, separately per value of a colour factor.

    Args:
        codes: `(d, N)`.
        factors: `(num_factors, N)` factor indices.
        factor_index: the factor on the x axis, with values `0..num_values-1`.
        num_values: its number of values.
        color_index: the factor that splits the curves (None: one curve).
        num_color_values: its number of values.

    Returns:
        `(d, num_color_values, num_values)`; NaN where the sample has no point.
    """
    codes, factors = _check_codes_factors(codes, factors)
    values = factors[factor_index].astype(np.int64)
    colors = np.zeros_like(values) if color_index is None else factors[color_index].astype(np.int64)
    cells = colors * num_values + values
    size = num_color_values * num_values
    counts = np.bincount(cells, minlength=size)[:size]
    result = np.full((codes.shape[0], size), np.nan)
    present = counts > 0
    for i in range(codes.shape[0]):
        sums = np.bincount(cells, weights=codes[i], minlength=size)[:size]
        result[i, present] = sums[present] / counts[present]
    return result.reshape(codes.shape[0], num_color_values, num_values)


# ----------------------------------------------------------------------------------------------
# Figures.


def pair_plot_size(num_latent: int) -> tuple[float, float]:
    """Figure size in inches of `plot_latent_pairs` (cells shrink beyond 13 latents)."""
    cell = min(1.6, 22.0 / num_latent)
    return (cell * num_latent + 0.9, cell * num_latent + 0.9)


def heatmap_size(num_rows: int, num_columns: int) -> tuple[float, float]:
    """Figure size in inches of `plot_heatmap` (at least 5 inches wide, for the title)."""
    return (max(1.0 * num_columns + 2.5, 5.0), 0.42 * num_rows + 1.8)


def latent_vs_factors_size(num_latent: int, num_columns: int) -> tuple[float, float]:
    """Figure size in inches of `plot_latent_vs_factors` (one row per latent)."""
    return (2.3 * num_columns + 0.9, 1.5 * num_latent + 1.0)


def _save(figure: Figure, path: str) -> str:
    FigureCanvasAgg(figure)
    image_utils.atomic_save(path, lambda tmp: figure.savefig(tmp, format="png", dpi=DPI))
    return path


def _adjust_margins(
    figure: Figure,
    left: float,
    right: float,
    bottom: float,
    top: float,
    space: float = 0.1,
) -> None:
    """Sets margins in inches (tight_layout costs seconds on a grid of a hundred axes)."""
    width, height = figure.get_size_inches()
    figure.subplots_adjust(
        left=left / width,
        right=1.0 - right / width,
        bottom=bottom / height,
        top=1.0 - top / height,
        wspace=space,
        hspace=space,
    )


def _title(figure: Figure, text: str) -> None:
    """A figure title 0.1 inch below the top edge, left-aligned."""
    height = figure.get_size_inches()[1]
    figure.suptitle(text, fontsize=10, x=0.01, y=1.0 - 0.1 / height, ha="left", va="top")


def plot_latent_pairs(codes: np.ndarray, path: str, labels: Sequence[str] | None = None) -> str:
    """Pair plot of the codes: scatter of (z_j, z_i) in cell (i, j), histogram of z_i at (i, i).

    Every cell of column j spans the range of z_j horizontally and every scatter of row i the
    range of z_i vertically; ticks are drawn on the left column and the bottom row only.

    Args:
        codes: `(d, N)` encoded means.
        path: the PNG to write.
        labels: d axis names (`z0`, `z1`, ... if None).

    Returns:
        `path`.
    """
    from matplotlib.ticker import MaxNLocator

    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2:
        raise ValueError(f"codes must be (d, N), got {codes.shape}")
    d = codes.shape[0]
    labels = list(labels) if labels is not None else [f"z{i}" for i in range(d)]
    figure = Figure(figsize=pair_plot_size(d))
    axes = np.asarray(figure.subplots(d, d, squeeze=False))
    low, high = codes.min(axis=1), codes.max(axis=1)
    margin = np.maximum(0.05 * (high - low), 1e-3)
    limits = np.stack([low - margin, high + margin], axis=1)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if i == j:
                ax.hist(codes[i], bins=30, range=tuple(limits[i]), color="tab:blue")
            else:
                ax.plot(codes[j], codes[i], ".", markersize=1.5, alpha=0.3, color="tab:blue")
                ax.set_ylim(*limits[i])
                ax.set_rasterized(True)
            ax.set_xlim(*limits[j])
            if i == d - 1:
                ax.xaxis.set_major_locator(MaxNLocator(3))
                ax.tick_params(axis="x", labelsize=6)
                ax.set_xlabel(labels[j], fontsize=9)
            else:
                ax.set_xticks([])
            if j == 0 and i != j:
                ax.yaxis.set_major_locator(MaxNLocator(3))
                ax.tick_params(axis="y", labelsize=6)
            else:
                ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(labels[i], fontsize=9)
    _title(figure, f"Pairs of encoded means ({codes.shape[1]} observations)")
    _adjust_margins(figure, left=0.65, right=0.1, bottom=0.55, top=0.45, space=0.08)
    return _save(figure, path)


def plot_heatmap(
    matrix: np.ndarray,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str,
    path: str,
    vmin: float = 0.0,
    vmax: float = 1.0,
) -> str:
    """An annotated heatmap (one cell per entry, its value written in it).

    Args:
        matrix: `(rows, columns)`.
        row_labels, column_labels: names of the rows (latents) and columns (factors).
        title: figure title.
        path: the PNG to write.
        vmin, vmax: colour scale.

    Returns:
        `path`.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    rows, cols = matrix.shape
    if len(row_labels) != rows or len(column_labels) != cols:
        raise ValueError(
            f"{len(row_labels)} row and {len(column_labels)} column labels for a {matrix.shape} "
            "matrix"
        )
    figure = Figure(figsize=heatmap_size(rows, cols))
    ax = figure.subplots()
    image = ax.imshow(matrix, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
    figure.colorbar(image, ax=ax)
    ax.set_xticks(range(cols), labels=list(column_labels), rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(rows), labels=list(row_labels), fontsize=8)
    middle = 0.5 * (vmin + vmax)
    for i in range(rows):
        for k in range(cols):
            value = matrix[i, k]
            ax.text(
                k,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="black" if value > middle else "white",
            )
    ax.set_title(title, fontsize=10)
    figure.tight_layout()
    return _save(figure, path)


def plot_latent_vs_factors(
    codes: np.ndarray,
    factors: np.ndarray,
    factors_num_values: Sequence[int],
    factor_names: Sequence[str],
    path: str,
    color_factor: int | None = 0,
) -> str:
    """Mean latent value against factor value (beta-TCVAE Figure S4): rows latents, columns factors.

    Each cell shows `mean_per_factor_value` of one latent against one factor's value index, one
    curve per value of `color_factor` (the first factor, shape on dSprites). The colour factor
    itself gets no column, unless it is the only factor.

    Args:
        codes: `(d, N)` encoded means.
        factors: `(num_factors, N)` factor indices.
        factors_num_values: values of each factor.
        factor_names: names of the factors.
        path: the PNG to write.
        color_factor: the factor whose values colour the curves, or None for one curve.

    Returns:
        `path`.
    """
    codes, factors = _check_codes_factors(codes, factors)
    num_factors = factors.shape[0]
    if num_factors == 1:
        color_factor = None
    columns = [k for k in range(num_factors) if k != color_factor]
    num_colors = 1 if color_factor is None else int(factors_num_values[color_factor])
    colormap = _curve_colors(num_colors)
    d = codes.shape[0]
    figure = Figure(figsize=latent_vs_factors_size(d, len(columns)))
    # One y scale per latent (row), so a flat curve reads as "this latent ignores this factor".
    axes = np.asarray(figure.subplots(d, len(columns), squeeze=False, sharex="col", sharey="row"))
    for column, k in enumerate(columns):
        means = mean_per_factor_value(
            codes, factors, k, int(factors_num_values[k]), color_factor, num_colors
        )
        x = np.arange(int(factors_num_values[k]))
        for i in range(d):
            ax = axes[i, column]
            for c in range(num_colors):
                label = None if color_factor is None else f"{factor_names[color_factor]} = {c}"
                ax.plot(x, means[i, c], ".-", markersize=2.5, linewidth=1, color=colormap[c],
                        label=label)  # fmt: skip
            ax.tick_params(labelsize=6)
            if i == 0:
                ax.set_title(factor_names[k], fontsize=9)
            if i == d - 1:
                ax.set_xlabel("value index", fontsize=7)
            if column == 0:
                ax.set_ylabel(f"mean z{i}", fontsize=8)
    if color_factor is not None:
        handles, labels = axes[0, 0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="upper right", fontsize=7, ncol=min(num_colors, 5),
                      frameon=False)  # fmt: skip
    _title(figure, "Mean latent value per factor value")
    _adjust_margins(figure, left=0.7, right=0.15, bottom=0.5, top=0.75, space=0.15)
    return _save(figure, path)


def _curve_colors(num_colors: int) -> list:
    from matplotlib import colormaps

    if num_colors <= 10:
        cmap = colormaps["tab10"]
        return [cmap(c) for c in range(num_colors)]
    cmap = colormaps["viridis"]
    return [cmap(c / (num_colors - 1)) for c in range(num_colors)]
