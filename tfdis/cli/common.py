"""Flags shared by the tfdis command-line tools, defined once, and the error policy.

Expected failures (bad configuration, missing data, an existing output, a NaN loss) end the
program with a one-line message and exit status 1 instead of a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
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


def _quiet_tensorflow_info(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or f"{os.sep}tensorflow{os.sep}" not in record.pathname


def run_reporting_errors(program: str, main: Callable[[], object]) -> None:
    """Runs `main`, turning expected errors into `program: error: ...` and exit status 1."""
    from tfdis.data.paths import DatasetNotFoundError
    from tfdis.training.train import NonFiniteLossError

    # TensorFlow's own INFO lines (checkpoint sharding, SavedModel renames) drown the progress
    # log; they reach absl's handler from TensorFlow's files, so filter them there.
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    absl_logging.get_absl_handler().addFilter(_quiet_tensorflow_info)

    try:
        main()
    except (
        DatasetNotFoundError,
        NonFiniteLossError,
        FileExistsError,
        FileNotFoundError,
        ValueError,
    ) as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        sys.exit(1)
