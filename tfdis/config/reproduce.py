"""The study runner: model K of a study trained, postprocessed, evaluated and drawn in `DIR/K/`.

`tfdis_reproduce` (`tfdis.cli.reproduce`) parses the flags and calls `reproduce`,
`reproduce_block` or `print_study`.

`reproduce` runs model `K` of a study (`tfdis.config`) in `DIR/K/` (dlib's layout): trains it,
postprocesses it with each of the study's postprocessing configs, evaluates every representation
with the study's metrics and draws its pictures (`visualize=False` leaves them out).
`reproduce_block` trains a block of models as one stacked group (`tfdis.training.stacked`), then
finishes each model as `reproduce` would. `gin_bindings` are applied to every step after the
study's own.

Rerunning the same call resumes a killed run. A step whose results are complete is skipped
(training: `results/aggregate/train.json`; postprocessing and each metric: their
`results/aggregate/*.json`; pictures: `visualized` in `DIR/K/reproduce.json`). A step that
started but did not finish is redone: training resumes from its last checkpoint, a
postprocessing, metric or picture step replaces its partial output. Once a step runs, the steps
that read its output run again (retraining redoes everything, a new representation its metrics),
so no result is left from an older model. `overwrite` redoes all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from absl import logging

RECORD_FILE = "reproduce.json"


def model_directory(output_directory: str, model_num: int) -> str:
    """The run directory of model `model_num`: `<output_directory>/<model_num>` (dlib's)."""
    return os.path.join(output_directory, str(model_num))


def _finished(step_dir: str, step_name: str) -> bool:
    """Whether a step's results are complete (its aggregate JSON is written last)."""
    from tfdis.utils import layout

    return os.path.exists(
        os.path.join(layout.results_dir(step_dir), "aggregate", f"{step_name}.json")
    )


def _step_results(step_dir: str, step_name: str) -> dict:
    from tfdis.utils import layout, results

    return results.read_json(
        os.path.join(layout.results_dir(step_dir), "json", f"{step_name}_results.json")
    )


def _read_record(model_dir: str) -> dict:
    from tfdis.utils import results

    path = os.path.join(model_dir, RECORD_FILE)
    return results.read_json(path) if os.path.exists(path) else {}


def _check_record(model_dir: str, study_name: str, model_num: int) -> None:
    """Refuses a model directory recorded as another study's or another model's."""
    record = _read_record(model_dir)
    if record and (record.get("study"), record.get("model_num")) != (study_name, model_num):
        raise FileExistsError(
            f"{model_dir} holds model {record.get('model_num')} of study {record.get('study')}, "
            f"not model {model_num} of {study_name}; pass --overwrite to replace it (or choose "
            "another --output_directory)."
        )


def reproduce(
    study_name: str,
    model_num: int,
    output_directory: str,
    overwrite: bool = False,
    visualize: bool = True,
    gin_bindings: Sequence[str] = (),
    trained_elsewhere: bool = False,
) -> dict:
    """`_reproduce` holding model `model_num`'s run lock (`tfdis.utils.run_lock`) throughout."""
    from tfdis.config import get_study
    from tfdis.utils import run_lock

    training_config(get_study(study_name), model_num, gin_bindings)  # refuses a bad model_num
    model_dir = model_directory(output_directory, model_num)
    with run_lock.run_lock(model_dir, exclusive=True, action="reproduce"):
        return _reproduce(
            study_name,
            model_num,
            output_directory,
            overwrite,
            visualize,
            gin_bindings,
            trained_elsewhere,
        )


def _reproduce(
    study_name: str,
    model_num: int,
    output_directory: str,
    overwrite: bool = False,
    visualize: bool = True,
    gin_bindings: Sequence[str] = (),
    trained_elsewhere: bool = False,
) -> dict:
    """Trains, postprocesses, evaluates and visualizes model `model_num` of a study.

    Args:
        study_name: a key of `tfdis.config.STUDIES`.
        model_num: the model, in `0..num_models - 1`.
        output_directory: the study directory; the run goes to `<output_directory>/<model_num>`.
        overwrite: redo every step, replacing existing outputs.
        visualize: draw the pictures (`tfdis.visualization.visualize.visualize_run`).
        gin_bindings: extra bindings applied to every step after the study's own (e.g. a
            shorter schedule); a resumed run must use the same ones.
        trained_elsewhere: the model was just trained (in a stacked group by
            `reproduce_block`): skip training and redo every later step.

    Returns:
        `{"study", "model_num", "model_dir", "model_config_file", "gin_bindings", "train",
        "postprocess": {representation: results}, "evaluation": {representation: {metric:
        results}}, "steps_run"}`, where `steps_run` lists the steps this call ran (the others
        were complete and their results are read back).

    Raises:
        ValueError: unknown study or `model_num` out of range.
        FileExistsError: the directory holds another study's or model's run, or an unfinished
            run with another configuration (without `overwrite`).
    """
    from tfdis.config import get_study
    from tfdis.evaluation.runs import DISCRETE_CODE_METRICS, evaluate_run
    from tfdis.postprocessing.runs import postprocess_run
    from tfdis.training.train import train_with_gin
    from tfdis.utils import layout, results
    from tfdis.utils.model_metadata import read_model_metadata

    study = get_study(study_name)
    config_file, training_bindings = training_config(study, model_num, gin_bindings)
    model_dir = model_directory(output_directory, model_num)
    if not overwrite:
        _check_record(model_dir, study.name, model_num)
    steps_run: list[str] = []
    redo = overwrite  # once a step runs, the steps that read its output run again

    if trained_elsewhere:
        steps_run.append("train")
        redo = True
    elif redo or not _finished(model_dir, "train"):
        logging.info("%s model %d: training in %s.", study.name, model_num, model_dir)
        train_with_gin(model_dir, overwrite, [config_file], training_bindings)
        steps_run.append("train")
        redo = True
    else:
        logging.info("%s model %d: training is complete, skipped.", study.name, model_num)
    record = _read_record(model_dir)
    if "train" in steps_run or not record:
        record = {
            "study": study.name,
            "model_num": model_num,
            "model_config_file": config_file,
            "gin_bindings": training_bindings,
            "visualized": False,
        }
        results.atomic_write_json(os.path.join(model_dir, RECORD_FILE), record)

    metrics = study.get_eval_metrics()
    step_seeds = study.get_step_seeds()  # dlib's studies: dlib_reproduce's per-step seeds
    if not read_model_metadata(layout.saved_model_dir(model_dir)).get("discrete_sizes"):
        metrics = [m for m in metrics if m not in DISCRETE_CODE_METRICS]
    postprocessed, evaluated = {}, {}
    for representation in study.get_representations():
        rep_dir = layout.postprocess_dir(model_dir, representation)
        redo_rep = redo
        if redo_rep or not _finished(rep_dir, "postprocess"):
            logging.info("%s model %d: postprocessing (%s).", study.name, model_num, representation)
            seed = (
                [f"postprocess.random_seed = {step_seeds[0][representation]}"] if step_seeds else []
            )
            postprocess_run(
                model_dir, representation, overwrite=True, gin_bindings=[*seed, *gin_bindings]
            )
            steps_run.append(f"postprocess/{representation}")
            redo_rep = True
        postprocessed[representation] = _step_results(rep_dir, "postprocess")
        pending = [
            metric
            for metric in metrics
            if redo_rep
            or not _finished(layout.metric_dir(model_dir, representation, metric), "evaluation")
        ]
        if pending:
            logging.info(
                "%s model %d: evaluating %s (%s).", study.name, model_num, pending, representation
            )
            # With per-metric seeds each metric is its own call (its seed binding differs).
            groups = [[metric] for metric in pending] if step_seeds else [pending]
            for group in groups:
                seed = (
                    [f"evaluation.random_seed = {step_seeds[1][representation, group[0]]}"]
                    if step_seeds
                    else []
                )
                evaluate_run(
                    model_dir,
                    group,
                    representation=representation,
                    overwrite=True,
                    gin_bindings=[*seed, *study.get_eval_gin_bindings(), *gin_bindings],
                )
            steps_run.extend(f"evaluate/{representation}/{metric}" for metric in pending)
        evaluated[representation] = {
            metric: _step_results(
                layout.metric_dir(model_dir, representation, metric), "evaluation"
            )
            for metric in metrics
        }

    # The pictures come from the trained model alone: redone when it was (re)trained.
    if visualize and not record.get("visualized"):
        from tfdis.visualization.visualize import visualize_run

        logging.info("%s model %d: drawing the pictures.", study.name, model_num)
        visualize_run(model_dir, overwrite=True)
        record["visualized"] = True
        results.atomic_write_json(os.path.join(model_dir, RECORD_FILE), record)
        steps_run.append("visualize")

    return {
        "study": study.name,
        "model_num": model_num,
        "model_dir": model_dir,
        "model_config_file": config_file,
        "gin_bindings": training_bindings,
        "train": _step_results(model_dir, "train"),
        "postprocess": postprocessed,
        "evaluation": evaluated,
        "steps_run": steps_run,
    }


def training_config(study, model_num: int, gin_bindings: Sequence[str]) -> tuple[str, list[str]]:
    """Model `model_num`'s gin config file and training bindings (study's, then the extra ones).

    dlib's reproduce labels each run with its model name and number (train results carry them).
    """
    config_file, study_bindings = study.get_model_config(model_num)
    return config_file, [
        f"model.name = '{study.get_model_name(model_num)}'",
        f"model.model_num = {model_num}",
        *study_bindings,
        *gin_bindings,
    ]


def reproduce_block(
    study_name: str,
    model_nums: Sequence[int],
    output_directory: str,
    overwrite: bool = False,
    visualize: bool = True,
    gin_bindings: Sequence[str] = (),
    models_per_chunk: int | None = None,
) -> list[dict]:
    """Trains a block of a study's models as one stacked group, then finishes each alone.

    The models whose training is not complete are trained together by
    `tfdis.training.stacked.train_stacked_with_gin` (one architecture, optimizer, dataset and
    schedule; weights stacked, each model ending in its own `DIR/K/` exactly as if trained
    alone); then every model of the block is postprocessed, evaluated and drawn as
    `reproduce` does. A killed block resumes: the group restarts from its members' checkpoints.

    Returns:
        `reproduce`'s outcome for each model, in `model_nums` order.

    Raises:
        ValueError: unknown study, a number out of range, or models that cannot share a
            stacked step (the message says which setting differs).
    """
    from tfdis.config import get_study
    from tfdis.training.stacked import train_stacked_with_gin

    study = get_study(study_name)
    pending = []
    for model_num in model_nums:
        model_dir = model_directory(output_directory, model_num)
        if not overwrite:
            _check_record(model_dir, study.name, model_num)
        if overwrite or not _finished(model_dir, "train"):
            pending.append(model_num)
    if pending:
        logging.info("%s models %s: training as one stacked group.", study.name, pending)
        configs = []
        for model_num in pending:
            config_file, bindings = training_config(study, model_num, gin_bindings)
            configs.append(([config_file], bindings))
        train_stacked_with_gin(
            [model_directory(output_directory, k) for k in pending],
            configs,
            overwrite,
            models_per_chunk=models_per_chunk,
        )
    return [
        reproduce(
            study_name,
            model_num,
            output_directory,
            overwrite=False,
            visualize=visualize,
            gin_bindings=gin_bindings,
            trained_elsewhere=model_num in pending,
        )
        for model_num in model_nums
    ]


def print_study(study_name: str, model_num: int = -1) -> None:
    """Prints model `model_num`'s configuration, or (`model_num < 0`) every model's, one a line."""
    from tfdis.config import get_study

    study = get_study(study_name)
    if model_num < 0:
        for k in range(study.num_models):
            print(study.model_config_line(k))
    else:
        study.print_model_config(model_num)
