"""Flags shared by the tfdis command-line tools, defined once, and the error policy.

Expected failures (bad configuration, missing data, an existing output, a NaN loss) end the
program with a one-line message and exit status 1 instead of a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable

from absl import flags
from absl import logging as absl_logging

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "The run directory (created by tfdis_train).")
flags.DEFINE_boolean("overwrite", False, "Replace existing outputs instead of refusing.")
flags.DEFINE_multi_string(
    "gin_config", [], "Gin config files (paths, or relative to gin_configs/)."
)
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. model.training_steps=20.")
flags.DEFINE_string(
    "representation",
    "mean",
    "Postprocessing: mean, sampled (gin_configs/postprocess/<name>.gin) or a gin file path.",
)
# The picture commands (tfdis_visualize, tfdis_visualize_dataset).
flags.DEFINE_string(
    "output_dir",
    None,
    "Where to write the pictures (tfdis_visualize: <model_dir>/visualizations).",
)
flags.DEFINE_integer("random_seed", 0, "Seeds the random draws of the pictures.")
flags.DEFINE_boolean(
    "verbose", False, "On an error, print the full traceback and gin's call chain too."
)
# Commands over many runs (tfdis_evaluate, tfdis_udr).
flags.DEFINE_string(
    "model_dirs",
    None,
    "A glob of run directories (quote it). tfdis_evaluate: evaluate them in one process instead "
    "of --model_dir, skipping complete results unless --overwrite. tfdis_udr: the seeds of one "
    "hyperparameter setting; several globs may be separated by commas.",
)
# The dataset commands (tfdis_visualize_dataset, tfdis_download_data).
flags.DEFINE_string(
    "dataset",
    None,
    "Dataset name (tfdis_visualize_dataset: a registered dataset such as dsprites_procedural; "
    "tfdis_download_data: a name of --list or a dataset it serves).",
)
# The table commands (tfdis_aggregate, tfdis_udr).
flags.DEFINE_string(
    "output_path",
    None,
    "Output directory (tfdis_aggregate: results.csv, results.json and the plots; tfdis_udr: "
    "the set's UDR results).",
)


def _quiet_tensorflow_info(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or f"{os.sep}tensorflow{os.sep}" not in record.pathname


def run_reporting_errors(program: str, main: Callable[[], object]) -> None:
    """Runs `main`, turning expected errors into `program: error: ...` and exit status 1."""
    # TensorFlow's own INFO lines (checkpoint sharding, SavedModel renames) drown the progress
    # log; they reach absl's handler from TensorFlow's files, so filter them there.
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    absl_logging.get_absl_handler().addFilter(_quiet_tensorflow_info)

    try:
        main()
    except Exception as error:
        if not _expected(error):
            raise
        from tfdis.training.interrupt import TrainingInterrupted
        from tfdis.utils.errors import one_line

        if _verbose():
            traceback.print_exc()
        if isinstance(error, TrainingInterrupted):
            print(f"{program}: {error}", file=sys.stderr)
            sys.exit(error.exit_code)
        print(f"{program}: error: {one_line(error)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:  # outside the training loop, which stops after its step
        if _verbose():
            traceback.print_exc()
        print(
            f"{program}: interrupted; nothing half-written is kept (rerun to resume).",
            file=sys.stderr,
        )
        sys.exit(130)


def _verbose() -> bool:
    return FLAGS.is_parsed() and FLAGS.verbose


def _expected(error: BaseException) -> bool:
    """Whether `error` is a user-facing failure (printed in one line) rather than a bug."""
    from tfdis.data.paths import DatasetNotFoundError
    from tfdis.training.interrupt import TrainingInterrupted
    from tfdis.training.train import NonFiniteLossError
    from tfdis.utils.errors import gin_configurables
    from tfdis.utils.run_lock import RunLockedError

    expected = (
        DatasetNotFoundError,
        NonFiniteLossError,
        RunLockedError,
        TrainingInterrupted,
        OSError,  # FileExistsError, FileNotFoundError, PermissionError, NotADirectoryError, ...
        ValueError,
    )
    # Any error raised through a gin configurable comes from a binding's value.
    return isinstance(error, expected) or bool(gin_configurables(str(error)))
