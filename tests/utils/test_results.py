"""dlib's results layout: gin flattening, aggregates and atomic writes."""

from __future__ import annotations

import json
import os

import pytest

from tfdis.utils import results


def test_gin_config_to_dict_flattens_scopes_quotes_and_continuations():
    config = "\n".join(
        [
            "# Parameters for dataset:",
            "dataset.name = 'dsprites_full'",
            "model.model = @vae()",
            "discriminator/AdamOptimizer.beta1 = 0.5",
            "mig.factors = [0,",
            "    1, 2]",
            "foo.long = \\",
            "    'a long string gin wraps'",
            "",
        ]
    )
    assert results.gin_config_to_dict(config) == {
        "dataset.name": "dsprites_full",
        "model.model": "@vae()",
        "discriminator/AdamOptimizer.beta1": "0.5",
        "mig.factors": "[0, 1, 2]",
        "foo.long": "a long string gin wraps",
    }


def test_update_result_directory_namespaces_and_carries_history(tmp_path):
    train_dir = str(tmp_path / "train" / "results")
    results.save_gin_config(train_dir, "train", "vae.beta = 4.0\n")
    results.update_result_directory(train_dir, "train", {"elbo": 12.5})
    eval_dir = str(tmp_path / "eval" / "results")
    results.save_gin_config(eval_dir, "evaluation", "mig.num_train = 100\n")
    aggregate = results.update_result_directory(
        eval_dir, "evaluation", {"discrete_mig": 0.25}, previous_result_dir=train_dir
    )
    assert aggregate == {
        "train_config.vae.beta": "4.0",
        "train_results.elbo": 12.5,
        "evaluation_config.mig.num_train": "100",
        "evaluation_results.discrete_mig": 0.25,
    }
    with open(os.path.join(eval_dir, "aggregate", "evaluation.json")) as f:
        assert json.load(f) == aggregate
    assert os.path.exists(os.path.join(eval_dir, "gin", "train.gin"))


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    path = str(tmp_path / "out" / "x.json")
    results.atomic_write_json(path, {"a": 1})
    results.atomic_write_json(path, {"a": 2})
    assert os.listdir(tmp_path / "out") == ["x.json"]
    assert results.read_json(path) == {"a": 2}


def test_atomic_write_keeps_the_old_file_when_serialization_fails(tmp_path):
    path = str(tmp_path / "x.json")
    results.atomic_write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        results.atomic_write_json(path, {"a": object()})
    assert results.read_json(path) == {"a": 1}
    assert os.listdir(tmp_path) == ["x.json"]


def test_ensure_fresh_directory_refuses_then_overwrites(tmp_path):
    path = str(tmp_path / "d")
    results.ensure_fresh_directory(path, overwrite=False, what="Output")
    open(os.path.join(path, "f"), "w").close()
    with pytest.raises(FileExistsError, match="--overwrite"):
        results.ensure_fresh_directory(path, overwrite=False, what="Output")
    results.ensure_fresh_directory(path, overwrite=True, what="Output")
    assert os.listdir(path) == []


def test_atomic_writes_get_ordinary_permissions(tmp_path):
    path = str(tmp_path / "x.json")
    results.atomic_write_json(path, {"a": 1})
    assert os.stat(path).st_mode & 0o777 == results.default_mode()
