"""The spread over seeds per configuration (tfdis.aggregation.seeds)."""

from __future__ import annotations

import csv
import os

import pytest
from test_aggregate_results import VAE, write_evaluation

from tfdis.aggregation import aggregate_results, collect_results
from tfdis.aggregation.seeds import spread_over_seeds

PATTERN = "*/metrics/mean/*/results/aggregate/evaluation.json"


@pytest.fixture()
def seeds_dir(tmp_path) -> str:
    root = str(tmp_path / "study")
    # One configuration with three seeds (MIG 0.2, 0.3, 0.4), one with one seed (MIG 0.5).
    for num, mig in enumerate((0.2, 0.3, 0.4)):
        config = dict(VAE, **{"model.model_num": str(num), "model.random_seed": str(num)})
        scores = {"discrete_mig": mig, "uuid": f"e{num}"}
        write_evaluation(root, num, "mig", config, {"uuid": f"t{num}"}, scores)
    config = dict(VAE, **{"model.model_num": "3", "model.random_seed": "0", "vae.beta": "4.0"})
    write_evaluation(root, 3, "mig", config, {"uuid": "t3"}, {"discrete_mig": 0.5, "uuid": "e3"})
    return root


def test_spread_groups_seeds_of_one_configuration(seeds_dir):
    table, columns = spread_over_seeds(*collect_results(os.path.join(seeds_dir, PATTERN)))
    assert "train_config.model.random_seed" not in columns
    assert "train_config.model.model_num" not in columns
    assert columns[-3:] == ["num_seeds", "mig.discrete_mig.mean", "mig.discrete_mig.std"]
    assert [row["num_seeds"] for row in table] == [3, 1]
    assert table[0]["train_config.vae.beta"] == 1.0 and table[1]["train_config.vae.beta"] == 4.0
    assert table[0]["mig.discrete_mig.mean"] == pytest.approx(0.3)
    assert table[0]["mig.discrete_mig.std"] == pytest.approx(0.1)  # sample std of .2, .3, .4
    assert table[1]["mig.discrete_mig.mean"] == 0.5
    assert table[1]["mig.discrete_mig.std"] is None


def test_aggregate_writes_the_spread_table(seeds_dir, tmp_path):
    output = str(tmp_path / "out")
    aggregation = aggregate_results(os.path.join(seeds_dir, PATTERN), output)
    path = os.path.join(output, "results_by_config.csv")
    assert aggregation.files[2] == path
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [r["num_seeds"] for r in rows] == ["3", "1"]
    assert float(rows[0]["mig.discrete_mig.std"]) == pytest.approx(0.1)
    assert rows[1]["mig.discrete_mig.std"] == ""
