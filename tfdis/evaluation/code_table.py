"""Encode once, score everything: a table of the codes of every observation of a dataset.

Metrics draw random factors, render observations and encode them: dlib's study suite encodes
about 3 million dSprites images, although dSprites has 737,280 and the mean representation is a
deterministic function of the image. For a dataset whose observation is a function of an index
(`GroundTruthData.observation_indices_from_factors`), evaluation instead encodes every indexed
observation once, stores the codes with the postprocessed model, and hands the metric

- `IndexedGroundTruthData`: the dataset, except that `sample_observations_from_factors` returns
  the observations' indices `(num,)` (int64), drawn from the random state exactly as the images
  would be, so every metric draws the same factors as before; and
- `table_representation_function`: maps such indices to their codes by looking them up, and
  encodes real observations `(B, H, W, C)` as before.

The metric code is unchanged and keeps dlib's signature. The table lives in
`<postprocessed>/code_tables/<dataset>.npy` (float32 `[num_indexed_observations, num_codes]`,
read memory-mapped) beside `<dataset>.json`, which records the fingerprint of the SavedModel and
of the dataset it was built from; a table whose fingerprint does not match is rebuilt.

Exact MIG needs each observation's posterior means and log-variances, also deterministic
functions of the image: `with_posterior_table` stores them as `<dataset>.posterior.npy`
(float32 `[num_indexed_observations, 2 * d]`, means then log-variances) and hands the metric a
`TablePosterior` whose `encode` looks indices up.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np
from absl import logging

from tfdis.data.ground_truth_data import GroundTruthData
from tfdis.utils import layout, results

RepresentationFunction = Callable[[np.ndarray], np.ndarray]

TABLE_DIR = "code_tables"
# Table kinds: the representation's codes, or the posterior's (mean, logvar) side by side.
CODES = "codes"
POSTERIOR = "posterior"
# Posterior metrics that use the encoder through `encode` alone (the means and log-variances of
# each dimension), so a posterior table serves them; by the metric function's name.
POSTERIOR_TABLE_METRICS = ("compute_mig_exact",)
# Postprocessing functions whose representation is a deterministic function of the image.
DETERMINISTIC_REPRESENTATIONS = ("mean_representation",)
# Observations rendered and encoded per call while building a table.
BUILD_BATCH = 4096
# Seconds between progress lines while building a table.
LOG_EVERY_SECONDS = 10.0


def _defining_class(data: GroundTruthData, name: str) -> type | None:
    return next((c for c in type(data).__mro__ if name in c.__dict__), None)


def indexes_observations(data: GroundTruthData) -> bool:
    """Whether `data`'s observations are a function of an index its factor sampling yields.

    True when the dataset is enumerable (`num_indexed_observations`) and the class that defines
    `sample_observations_from_factors` also defines `observation_indices_from_factors` (so a
    subclass that changes how observations are drawn, adding noise or colour, is never taken
    for its parent), and `sample`/`sample_observations` are the interface's own.
    """
    if data.num_indexed_observations is None:
        return False
    indices_owner = _defining_class(data, "observation_indices_from_factors")
    if indices_owner in (None, GroundTruthData):
        return False
    if _defining_class(data, "sample_observations_from_factors") is not indices_owner:
        return False
    return all(
        _defining_class(data, name) is GroundTruthData for name in ("sample", "sample_observations")
    )


def _is_indices(observations: np.ndarray) -> bool:
    return observations.ndim == 1 and observations.dtype.kind in "iu"


class IndexedGroundTruthData(GroundTruthData):
    """`data` whose `sample_observations_from_factors` returns observation indices.

    Everything else is `data`'s: factors, shapes, sizes and the random draws. The indices are
    int64 `(num,)`; `table_representation_function` turns them into codes.

    Args:
        data: a dataset for which `indexes_observations(data)` holds.
    """

    def __init__(self, data: GroundTruthData):
        if not indexes_observations(data):
            raise ValueError(f"{type(data).__name__} does not index its observations by factors")
        self.data = data
        self.name = data.name

    def __getattr__(self, name: str):
        # Dataset-specific members (state_space, latent_factor_indices, ...) stay reachable.
        if name == "data":
            raise AttributeError(name)
        return getattr(self.data, name)

    @property
    def num_factors(self) -> int:
        return self.data.num_factors

    @property
    def factors_num_values(self) -> list[int]:
        return self.data.factors_num_values

    @property
    def observation_shape(self) -> list[int]:
        return self.data.observation_shape

    @property
    def num_observations(self) -> int:
        return self.data.num_observations

    @property
    def dataset_size(self) -> int:
        return self.data.dataset_size

    @property
    def num_indexed_observations(self) -> int | None:
        return self.data.num_indexed_observations

    def observations_by_index(self, indices: np.ndarray) -> np.ndarray:
        return self.data.observations_by_index(indices)

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return self.data.sample_factors(num, random_state)

    def sample_observations_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        """Indices int64 `(num,)` of the observations `data` would return for `factors`."""
        indices = self.data.observation_indices_from_factors(factors, random_state)
        return np.asarray(indices, dtype=np.int64).reshape(-1)

    def observation_indices_from_factors(
        self, factors: np.ndarray, random_state: np.random.RandomState
    ) -> np.ndarray:
        return self.sample_observations_from_factors(factors, random_state)


def table_representation_function(
    table: np.ndarray, representation_function: RepresentationFunction
) -> RepresentationFunction:
    """Codes by table look-up for indices `(B,)`, by `representation_function` for images.

    Args:
        table: float32 `[num_indexed_observations, num_codes]`, row i the code of observation i.
        representation_function: the encoder, for observations `(B, H, W, C)`.
    """

    def representation_function_with_table(observations: np.ndarray) -> np.ndarray:
        array = np.asarray(observations)
        if _is_indices(array):
            return np.asarray(table[array])
        return representation_function(observations)

    representation_function_with_table.table = table
    return representation_function_with_table


def model_fingerprint(saved_model_dir: str) -> str:
    """SHA-256 of a SavedModel's files (graph, variables, tfdis metadata)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(saved_model_dir):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, saved_model_dir).encode())
            with open(path, "rb") as f:
                for block in iter(lambda f=f: f.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _dataset_fingerprint(data: GroundTruthData) -> dict:
    return {
        "dataset": data.name or type(data).__name__,
        "dataset_class": f"{type(data).__module__}.{type(data).__qualname__}",
        "num_indexed_observations": int(data.num_indexed_observations),
        "observation_shape": [int(s) for s in data.observation_shape],
        "factors_num_values": [int(s) for s in data.factors_num_values],
    }


def table_paths(model_dir: str, data: GroundTruthData, kind: str = CODES) -> tuple[str, str]:
    """`(table.npy, table.json)` paths of `data`'s table in the postprocessed `model_dir`.

    `kind` is `CODES` (`<dataset>.npy`) or `POSTERIOR` (`<dataset>.posterior.npy`).
    """
    if kind not in (CODES, POSTERIOR):
        raise ValueError(f"kind must be {CODES!r} or {POSTERIOR!r}, got {kind!r}")
    name = (data.name or type(data).__name__).replace(os.sep, "_")
    if kind == POSTERIOR:
        name += ".posterior"
    directory = os.path.join(model_dir, TABLE_DIR)
    return os.path.join(directory, f"{name}.npy"), os.path.join(directory, f"{name}.json")


def build_table(
    data: GroundTruthData,
    representation_function: RepresentationFunction,
    path: str,
    batch_size: int = BUILD_BATCH,
) -> np.ndarray:
    """Encodes every indexed observation of `data` into a float32 `.npy` at `path`.

    Written to a temporary file and renamed into place; returns the table memory-mapped.
    """
    num = int(data.num_indexed_observations)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-table-", suffix=".npy")
    os.close(handle)
    start_time = last_log = time.time()
    try:
        table = None
        for start in range(0, num, batch_size):
            indices = np.arange(start, min(start + batch_size, num), dtype=np.int64)
            codes = np.asarray(representation_function(data.observations_by_index(indices)))
            if codes.ndim != 2 or len(codes) != len(indices):
                raise ValueError(
                    f"the representation function returned shape {codes.shape} for "
                    f"{len(indices)} observations; expected (batch, num_codes)"
                )
            if table is None:
                table = np.lib.format.open_memmap(
                    tmp, mode="w+", dtype=np.float32, shape=(num, codes.shape[1])
                )
            table[start : start + len(indices)] = codes
            now = time.time()
            done = start + len(indices)
            if now - last_log >= LOG_EVERY_SECONDS and done < num:
                rate = done / (now - start_time)
                logging.info(
                    "Code table: %d of %d observations encoded (%.0f%%), %.0f/s, ETA %.0f s.",
                    done,
                    num,
                    100.0 * done / num,
                    rate,
                    (num - done) / rate,
                )
                last_log = now
        table.flush()
        del table
        os.chmod(tmp, results.default_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    logging.info(
        "Code table: %d observations encoded in %.1f s (%s).", num, time.time() - start_time, path
    )
    return np.load(path, mmap_mode="r")


def load_or_build_table(
    model_dir: str,
    data: GroundTruthData,
    representation_function: RepresentationFunction,
    batch_size: int = BUILD_BATCH,
    kind: str = CODES,
) -> np.ndarray:
    """The code table of `data` for the postprocessed model in `model_dir`, built if needed.

    A stored table is used only if its record matches the SavedModel's fingerprint and the
    dataset's; otherwise it is rebuilt. `kind` names the table (`table_paths`);
    `representation_function` gives its rows.
    """
    table_path, record_path = table_paths(model_dir, data, kind)
    record = {
        "model_fingerprint": model_fingerprint(layout.saved_model_dir(model_dir)),
        **_dataset_fingerprint(data),
    }
    if os.path.exists(record_path) and os.path.exists(table_path):
        with open(record_path) as f:
            stored = json.load(f)
        if {k: stored.get(k) for k in record} == record:
            table = np.load(table_path, mmap_mode="r")
            if table.shape[0] == record["num_indexed_observations"]:
                logging.info("Code table: using %s.", table_path)
                return table
        logging.info("Code table: %s is stale (another model or dataset); rebuilding.", table_path)
    if os.path.exists(record_path):
        os.remove(record_path)
    table = build_table(data, representation_function, table_path, batch_size)
    results.atomic_write_json(record_path, {**record, "num_codes": int(table.shape[1])})
    return table


def with_code_table(
    model_dir: str,
    data: GroundTruthData,
    representation_function: RepresentationFunction,
    postprocess_fn: str | None,
) -> tuple[GroundTruthData, RepresentationFunction] | None:
    """`(IndexedGroundTruthData, table representation function)`, or None if not applicable.

    Applicable when the representation is deterministic (`DETERMINISTIC_REPRESENTATIONS`) and
    `indexes_observations(data)`.
    """
    if postprocess_fn not in DETERMINISTIC_REPRESENTATIONS or not indexes_observations(data):
        return None
    table = load_or_build_table(model_dir, data, representation_function)
    return (
        IndexedGroundTruthData(data),
        table_representation_function(table, representation_function),
    )


class TablePosterior:
    """A `PosteriorEncoder` whose `encode` looks observation indices up in a posterior table.

    Args:
        table: float32 `[num_indexed_observations, 2 * d]`, row i the mean `(d,)` then the
            log-variance `(d,)` of observation i.
        posterior_encoder: the model's posterior, for real observations `(B, H, W, C)`.
    """

    def __init__(self, table: np.ndarray, posterior_encoder):
        if table.ndim != 2 or table.shape[1] % 2:
            raise ValueError(f"a posterior table is (N, 2 * d), got shape {table.shape}")
        self.table = table
        self.posterior_encoder = posterior_encoder
        self.num_codes = table.shape[1] // 2

    def __getattr__(self, name: str):
        if name in ("posterior_encoder", "table"):
            raise AttributeError(name)
        return getattr(self.posterior_encoder, name)

    def encode(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(mean, logvar)`, each `(B, d)`: looked up for indices `(B,)`, else encoded."""
        array = np.asarray(observations)
        if _is_indices(array):
            rows = np.asarray(self.table[array])
            return rows[:, : self.num_codes], rows[:, self.num_codes :]
        return self.posterior_encoder.encode(observations)

    def sample(self, observations: np.ndarray, seed: int) -> np.ndarray:
        """The model's posterior sample of real observations (the table holds no samples)."""
        if _is_indices(np.asarray(observations)):
            raise ValueError(
                "a posterior table holds means and log-variances, not samples; this metric "
                "needs the per-sample path (evaluation.use_code_table = False)"
            )
        return self.posterior_encoder.sample(observations, seed)


def encode_posterior_rows(posterior_encoder) -> RepresentationFunction:
    """Observations `(B, H, W, C)` -> float32 `(B, 2 * d)`: mean then log-variance."""

    def posterior_rows(observations: np.ndarray) -> np.ndarray:
        mean, logvar = posterior_encoder.encode(observations)
        return np.concatenate([np.asarray(mean), np.asarray(logvar)], axis=1).astype(np.float32)

    return posterior_rows


def with_posterior_table(
    model_dir: str,
    data: GroundTruthData,
    posterior_encoder,
    metric_name: str,
) -> tuple[GroundTruthData, TablePosterior] | None:
    """`(IndexedGroundTruthData, TablePosterior)`, or None if not applicable.

    Applicable when the metric is one of `POSTERIOR_TABLE_METRICS` (it needs the means and
    log-variances only, which are deterministic functions of the image) and
    `indexes_observations(data)`. The table is `<dataset>.posterior.npy` beside the code table.
    """
    if metric_name not in POSTERIOR_TABLE_METRICS or not indexes_observations(data):
        return None
    table = load_or_build_table(
        model_dir, data, encode_posterior_rows(posterior_encoder), kind=POSTERIOR
    )
    return IndexedGroundTruthData(data), TablePosterior(table, posterior_encoder)
