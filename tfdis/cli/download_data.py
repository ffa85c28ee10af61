"""`tfdis_download_data --dataset=NAME [--data_dir=DIR] [--mirror=URL] | --list`.

Fetches a dataset's files from their canonical source or a mirror, with a progress line,
resuming a partial download, verifies size and checksum, and moves or converts them into the
layout the loaders read (`tfdis.data.download`). `--list` prints every dataset, its size on disk
and whether it is present and verified. The data dir defaults to `$TFDIS_DATA` (the loaders'). The
only command of tfdis that uses the network.
"""

from __future__ import annotations

import sys

from absl import app, flags

from tfdis.cli import common  # noqa: F401  (the shared flags and quiet TF logs)

FLAGS = flags.FLAGS

flags.DEFINE_string("data_dir", None, "Where to install it (default $TFDIS_DATA, the loaders').")
flags.DEFINE_boolean("list", False, "List every dataset, its size and whether it is verified.")
flags.DEFINE_string("mirror", None, "A URL prefix tried first for every file: <mirror>/<file>.")
flags.DEFINE_boolean(
    "mirror_only", False, "Fetch only from --mirror (an offline or institutional copy)."
)
flags.DEFINE_float("timeout", 60.0, "Seconds to wait on a silent connection.")

PROGRAM = "tfdis_download_data"


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from tfdis.data import download
    from tfdis.data.paths import data_dir

    directory = FLAGS.data_dir or data_dir()
    if FLAGS.list:
        print(f"data dir: {directory}")
        for line in download.listing(directory):
            print(line)
        return
    if FLAGS.mirror_only and not FLAGS.mirror:
        print(f"{PROGRAM}: error: --mirror_only needs --mirror=URL", file=sys.stderr)
        sys.exit(1)
    if not FLAGS.dataset:
        print(f"{PROGRAM}: error: pass --dataset=NAME or --list", file=sys.stderr)
        sys.exit(1)

    try:
        targets = download.download(
            FLAGS.dataset,
            directory,
            mirror=FLAGS.mirror,
            mirror_only=FLAGS.mirror_only,
            timeout=FLAGS.timeout,
        )
    except (download.DownloadError, ValueError, OSError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        sys.exit(1)
    for target in targets:
        print(target)


def run() -> None:
    app.run(main)


if __name__ == "__main__":
    run()
