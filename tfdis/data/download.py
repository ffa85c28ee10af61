"""Opt-in fetcher of the datasets' files, verified (`tfdis_download_data`; issue 17).

Nothing downloads at run time; this module runs only when the user asks. For each dataset it knows
the canonical source and its mirrors (`SOURCES`). A file is fetched into the staging folder
`<data dir>/.tfdis_downloads/` as `<file>.part`, resumed with an HTTP range request when a partial
file is there, and checked (size, then SHA-256 and, where that is what is published, MD5) before it
is moved (`os.replace`, atomic) or converted into the layout the loaders read. Converted files are
written under a temporary name and renamed when complete. So the loaders' layout never holds a
half-written file: a failed transfer leaves at most the `.part` in the staging folder (kept so a
rerun resumes it), and a file that fails its checksum is deleted.

Checksums: where one is published (tensorflow-datasets' `checksums.tsv` for dSprites, Shapes3D and
SmallNORB; the full-file MD5s in the `disent` library for Cars3D's archive and MPI3D) it is
checked. Where none is published (the scream image; the SHA-256 of Cars3D's archive and MPI3D) the
size and SHA-256 of the first download are recorded in
`<data dir>/.tfdis_downloads/recorded_checksums.json`, and later downloads must match them.

Mirrors: a second URL is listed only where a public source documents that exact URL for that
file, and only for a file with a published checksum, so a mirror that serves other bytes is
refused (and the next URL tried) rather than installed. Each mirror's source is noted where it is
listed; datasets without one (Shapes3D, SmallNORB, the scream image) say so in the README. `--list` reads `<data dir>/.tfdis_downloads/installed.json` (what was installed and
verified, with each file's size and modification time) and reports each dataset as missing,
present and verified, or present but unverified or changed.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import json
import os
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from typing import TextIO

import numpy as np

STAGING = ".tfdis_downloads"
RECORDED = "recorded_checksums.json"
INSTALLED = "installed.json"
_CHUNK = 1 << 20
_TIMEOUT = 60.0


class DownloadError(RuntimeError):
    """A file could not be fetched or verified; the message is one line."""


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One file to fetch.

    Attributes:
        name: its name in the staging folder.
        urls: the canonical URL first, then mirrors, tried in order.
        size: published size in bytes, or None.
        sha256: published SHA-256 (hex), or None (then recorded on first download).
        md5: published MD5 (hex), or None.
        published_by: where the checksum comes from (for `--list` and the README).
    """

    name: str
    urls: tuple[str, ...]
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    published_by: str = ""


@dataclasses.dataclass(frozen=True)
class DatasetSource:
    """What `tfdis_download_data --dataset=NAME` fetches and where it goes.

    Attributes:
        name: the `--dataset` name.
        files: the files to fetch.
        targets: paths (relative to the data dir) the loaders read, written by `install`.
        install: `(fetched: {file name: staged path}, data_dir)` -> None; moves or converts the
            verified files into `targets` (each written atomically).
        size_on_disk: bytes of the installed targets (approximate), for `--list`.
        serves: the `dataset.name`s that read the targets.
    """

    name: str
    files: tuple[RemoteFile, ...]
    targets: tuple[str, ...]
    install: Callable[[dict[str, str], str], None]
    size_on_disk: int
    serves: tuple[str, ...]


# --- installing: moves and conversions, each atomic -------------------------------------------


def _replace_into(source: str, target: str) -> None:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.replace(source, target)


def _move(target: str) -> Callable[[dict[str, str], str], None]:
    """Installs the one fetched file as `target` (relative to the data dir)."""

    def install(fetched: dict[str, str], data_dir: str) -> None:
        (path,) = fetched.values()
        _replace_into(path, os.path.join(data_dir, target))

    return install


def _atomic_write(target: str, write: Callable[[str], None]) -> None:
    """Calls `write(temporary path)` and renames the result to `target`; removes it on failure."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    partial = f"{target}.partial"
    try:
        write(partial)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def dsprites_hdf5_to_npz(hdf5_path: str, npz_path: str) -> None:
    """Writes the official dSprites npz layout from the official hdf5, streaming the images.

    The npz (deflated) gets `imgs` `(N, 64, 64)` uint8, `latents_classes` and `latents_values` `(N, 6)` and
    `metadata` (a pickled dict with `latents_sizes`, the number of values of each latent), the
    keys `tfdis.data.dsprites.load_npz` reads. The images are copied in chunks, never whole.
    """
    import h5py

    with h5py.File(hdf5_path, "r") as source:
        images = source["imgs"]
        classes = np.asarray(source["latents/classes"][()], dtype=np.int64)
        values = np.asarray(source["latents/values"][()], dtype=np.float64)
        if images.ndim != 3 or classes.shape != (images.shape[0], 6):
            raise ValueError(
                f"{hdf5_path}: expected imgs (N, 64, 64) and latents/classes (N, 6), got "
                f"{images.shape} and {classes.shape}"
            )
        metadata = {"latents_sizes": (classes.max(axis=0) + 1).astype(np.int64)}

        def write(path: str) -> None:
            # Deflated like the official npz (26 MB instead of 3 GB); the loader streams it.
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                with archive.open("imgs.npy", "w", force_zip64=True) as member:
                    header = {
                        "descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
                        "fortran_order": False,
                        "shape": tuple(int(s) for s in images.shape),
                    }
                    np.lib.format.write_array_header_2_0(member, header)
                    rows = max(1, (64 << 20) // max(1, int(np.prod(images.shape[1:]))))
                    for start in range(0, images.shape[0], rows):
                        member.write(np.ascontiguousarray(images[start : start + rows], np.uint8))
                for key, array in (
                    ("latents_classes", classes),
                    ("latents_values", values),
                    ("metadata", np.array(metadata, dtype=object)),
                ):
                    with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=True)

        _atomic_write(npz_path, write)


def _install_dsprites(fetched: dict[str, str], data_dir: str) -> None:
    (path,) = fetched.values()
    dsprites_hdf5_to_npz(path, os.path.join(data_dir, DSPRITES_TARGET))
    os.remove(path)


def _install_gunzipped(folder: str) -> Callable[[dict[str, str], str], None]:
    """Installs each fetched `X.gz` as `folder/X`, decompressed (dlib's SmallNORB layout)."""

    def install(fetched: dict[str, str], data_dir: str) -> None:
        for name, path in fetched.items():
            target = os.path.join(data_dir, folder, name[: -len(".gz")])

            def write(partial: str, path: str = path) -> None:
                with gzip.open(path, "rb") as source, open(partial, "wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)

            _atomic_write(target, write)
            os.remove(path)

    return install


def _install_cars(fetched: dict[str, str], data_dir: str) -> None:
    """Extracts `data/cars/*.mat` of dlib's archive into `cars/` (a folder renamed when done)."""
    (path,) = fetched.values()
    target = os.path.join(data_dir, "cars")
    partial = f"{target}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    try:
        count = 0
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                parts = member.name.split("/")
                if member.isfile() and parts[-2:-1] == ["cars"] and parts[-1].endswith(".mat"):
                    with (
                        archive.extractfile(member) as source,
                        open(os.path.join(partial, os.path.basename(parts[-1])), "wb") as sink,
                    ):
                        shutil.copyfileobj(source, sink, _CHUNK)
                    count += 1
        if not count:
            raise DownloadError(f"{path}: the archive has no data/cars/*.mat")
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.replace(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    os.remove(path)


# --- the sources --------------------------------------------------------------------------------

_TFDS = "tensorflow-datasets checksums.tsv"
# disent (github.com/nmichlo/disent) lists a 'full' MD5 (of the whole downloaded file,
# disent/util/inout/hashing.py) for each file it fetches.
_DISENT = "MD5 from the disent library's MPI3D table"
_DISENT_CARS = "MD5 from the disent library's Cars3D table"
DSPRITES_TARGET = os.path.join("dsprites", "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")
_DSPRITES_HDF5 = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5"
_NORB = "smallnorb-5x{}x9x18x6x2x96x96-{}-{}.mat.gz"
_NORB_FILES = (
    ("01235", "testing", "cat", 347, "ecaf6d5bb8c3bc5eab9cf0258f6d2198dd474e016e374836fc097f2e5ff509ff"),
    ("01235", "testing", "dat", 130799817, "cf7104eed3e51174d2f65b66d1e5878b9da233b886f161b0d88f4510ba2c7474"),
    ("01235", "testing", "info", 10428, "16adf314226327ee006d1a44db8cfef52773c06c829951d5653a9f6f310248a2"),
    ("46789", "training", "cat", 348, "2784e542c1922060691090952b6cd6278879a216c90f81476f0f00256d42cdaa"),
    ("46789", "training", "dat", 131896188, "5ffd6272a07d32695ee1082a26a41a93a37aab8c28da047f8c34ed348d214873"),
    ("46789", "training", "info", 71052, "de7eb932ebe7a4ee16217fead60660d0eb3d23632c2f4d1c51f88c501c17bf32"),
)  # fmt: skip
# MPI3D's URLs: the Google Cloud Storage files that the authors' README first linked and disent
# fetches (its MD5s were taken of them); then the authors' Hugging Face copy, which their README
# (github.com/rr-learning/disentanglement_dataset, "the download links have been updated") now
# links. The MD5 is checked on either, so a copy that differs is refused. Not a mirror: dlib's
# dlib_download_data fetches mpi3d_toy from .../data_npz/sim_toy_64x_ordered_without_heldout_
# factors.npz, the earlier release the authors' README described as 460,800 images (4 colours,
# 4 shapes), another file.
_MPI3D = (
    "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/{}.npz",
    "https://huggingface.co/datasets/waleedgondal/mpi3d/resolve/main/{}.npz",
)
_MPI3D_MD5 = {
    "mpi3d_toy": "55889cb7c7dfc655d6e0277beee88868",
    "mpi3d_realistic": "59a6225b88b635365f70c91b3e52f70f",
    "mpi3d_real": "0f33f609918fb5c97996692f91129802",
}
_MPI3D_BYTES = 1036800 * 64 * 64 * 3
_MPI3D_COMPLEX = os.path.join("mpi3d_complex", "real3d_complicated_shapes_ordered.npz")


def _norb_file(ids: str, split: str, kind: str, size: int, sha256: str) -> RemoteFile:
    name = _NORB.format(ids, split, kind)
    return RemoteFile(
        name,
        (f"https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/{name}",),
        size,
        sha256,
        published_by=_TFDS,
    )


def _mpi3d(mode: str) -> DatasetSource:
    return DatasetSource(
        mode,
        (
            RemoteFile(
                f"{mode}.npz",
                tuple(url.format(mode) for url in _MPI3D),
                md5=_MPI3D_MD5[mode],
                published_by=_DISENT,
            ),
        ),
        (os.path.join(mode, f"{mode}.npz"),),
        _move(os.path.join(mode, f"{mode}.npz")),
        _MPI3D_BYTES,
        (mode,),
    )


SOURCES: dict[str, DatasetSource] = {
    source.name: source
    for source in (
        DatasetSource(
            "dsprites",
            (
                RemoteFile(
                    _DSPRITES_HDF5,
                    (
                        "https://github.com/deepmind/dsprites-dataset/blob/master/"
                        f"{_DSPRITES_HDF5}?raw=true",
                        f"https://raw.githubusercontent.com/deepmind/dsprites-dataset/master/"
                        f"{_DSPRITES_HDF5}",
                    ),
                    28024106,
                    "729fa22e884c9c500e1f17415d580746b4c5894fbbb780a1319bbcfa39a745bb",
                    published_by=_TFDS,
                ),
            ),
            (DSPRITES_TARGET,),
            _install_dsprites,
            26_000_000,
            ("dsprites_full", "dsprites_noshape", "color_dsprites", "noisy_dsprites"),
        ),
        DatasetSource(
            "shapes3d",
            (
                RemoteFile(
                    "3dshapes.h5",
                    ("https://storage.googleapis.com/3d-shapes/3dshapes.h5",),
                    267573662,
                    "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785",
                    published_by=_TFDS,
                ),
            ),
            (os.path.join("3dshapes", "3dshapes.h5"),),
            _move(os.path.join("3dshapes", "3dshapes.h5")),
            267573662,
            ("shapes3d",),
        ),
        DatasetSource(
            "smallnorb",
            tuple(_norb_file(*spec) for spec in _NORB_FILES),
            tuple(
                os.path.join("small_norb", _NORB.format(*spec[:3])[: -len(".gz")])
                for spec in _NORB_FILES
            ),
            _install_gunzipped("small_norb"),
            2 * 24300 * 2 * 96 * 96,
            ("smallnorb",),
        ),
        DatasetSource(
            "cars3d",
            (
                RemoteFile(
                    "nips2015-analogy-data.tar.gz",
                    (
                        # dlib's bin/dlib_download_data and disent's Cars3D loader.
                        "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz",
                        # The author's earlier university page, as in
                        # carpedm20/visual-analogy-tensorflow's download.sh.
                        "http://www-personal.umich.edu/~reedscot/files/"
                        "nips2015-analogy-data.tar.gz",
                    ),
                    md5="4e866a7919c1beedf53964e6f7a23686",
                    published_by=_DISENT_CARS,
                ),
            ),
            ("cars",),
            _install_cars,
            183 * 4 * 24 * 128 * 128 * 3,
            ("cars3d",),
        ),
        _mpi3d("mpi3d_toy"),
        _mpi3d("mpi3d_realistic"),
        _mpi3d("mpi3d_real"),
        # The authors' README links a Google Drive file (drive.google.com/file/d/
        # 1Tp8eTdHxgUMtsZv5uAoYAbJR1BOa_OQm), which answers a script with a confirmation page,
        # and no checksum is published: listed so that --list reports it; fetched by hand.
        DatasetSource(
            "mpi3d_complex",
            (),
            (_MPI3D_COMPLEX,),
            _move(_MPI3D_COMPLEX),
            460800 * 64 * 64 * 3,
            ("mpi3d_complex",),
        ),
        DatasetSource(
            "scream_dsprites",
            (
                RemoteFile(
                    "The_Scream.jpg",
                    ("https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg",),
                ),
            ),
            (os.path.join("scream", "scream.jpg"),),
            _move(os.path.join("scream", "scream.jpg")),
            0,
            ("scream_dsprites",),
        ),
    )
}
# Aliases: the dSprites variants and the scream image by their own names.
ALIASES = {
    **{name: "dsprites" for name in SOURCES["dsprites"].serves},
    "scream": "scream_dsprites",
}


def resolve(name: str) -> DatasetSource:
    """The source for `--dataset=name` (a source name or a dataset it serves).

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    key = ALIASES.get(name, name)
    if key not in SOURCES:
        raise ValueError(
            f"no download source for dataset {name!r}; known: {', '.join(sorted(SOURCES))} "
            "(see tfdis_download_data --list)"
        )
    return SOURCES[key]


# --- bookkeeping -----------------------------------------------------------------------------


def _read_json(path: str) -> dict:
    try:
        with open(path) as handle:
            return json.load(handle)
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _write_json(path: str, content: dict) -> None:
    def write(partial: str) -> None:
        with open(partial, "w") as handle:
            json.dump(content, handle, indent=1, sort_keys=True)

    _atomic_write(path, write)


def _file_hashes(path: str) -> tuple[str, str]:
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            sha256.update(chunk)
            md5.update(chunk)
    return sha256.hexdigest(), md5.hexdigest()


def _stamp(path: str) -> dict:
    """Size and modification time of a target (a folder: of its files, summed / latest)."""
    if os.path.isdir(path):
        files = [os.path.join(path, name) for name in sorted(os.listdir(path))]
        return {
            "size": sum(os.path.getsize(f) for f in files),
            "mtime": max([os.path.getmtime(f) for f in files], default=0.0),
        }
    return {"size": os.path.getsize(path), "mtime": os.path.getmtime(path)}


# --- fetching --------------------------------------------------------------------------------


class _Progress:
    def __init__(self, name: str, stream: TextIO | None, total: int | None):
        self.name, self.stream, self.total = name, stream, total
        self.last = 0.0

    def update(self, received: int, final: bool = False) -> None:
        if self.stream is None or (not final and time.monotonic() - self.last < 0.2):
            return
        self.last = time.monotonic()
        text = f"\r{self.name}: {received / 2**20:.1f}"
        if self.total:
            text += f" / {self.total / 2**20:.1f} MiB ({100 * received / self.total:.0f}%)"
        else:
            text += " MiB"
        self.stream.write(text + ("\n" if final else ""))
        self.stream.flush()


def _transfer(
    url: str, part: str, size: int | None, stream: TextIO | None, timeout: float, name: str
) -> None:
    """Fetches `url` into `part`, resuming from its current length. Raises DownloadError."""
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    if size is not None and offset > size:
        offset = 0
    headers = {"User-Agent": "tfdis_download_data"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # nothing left to send: the checksum will judge
            return
        raise DownloadError(f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"cannot connect ({reason})") from None
    with response:
        if offset and response.status != 206:  # the server ignored the range: start over
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else size
        progress = _Progress(name, stream, total)
        received = offset
        broken = None
        with open(part, "ab" if offset else "wb") as sink:
            while True:
                try:
                    chunk = response.read1(_CHUNK)  # what has arrived: a drop loses nothing
                except (http.client.IncompleteRead, OSError, http.client.HTTPException) as error:
                    chunk, broken = None, error
                if not chunk:
                    break
                sink.write(chunk)
                received += len(chunk)
                progress.update(received)
        progress.update(received, final=True)
    if total is not None and received < total:
        raise DownloadError(f"connection dropped: truncated at {received} of {total} bytes")
    if broken is not None:  # no length to compare with, but the transfer did not end cleanly
        raise DownloadError(f"connection dropped after {received} bytes ({type(broken).__name__})")


def fetch_file(
    remote: RemoteFile,
    staging: str,
    mirror: str | None = None,
    stream: TextIO | None = sys.stderr,
    timeout: float = _TIMEOUT,
    mirror_only: bool = False,
) -> str:
    """Fetches and verifies one file into `staging`; returns the verified file's path.

    Sources are tried in order (`mirror/<name>` first when `mirror` is given, alone when
    `mirror_only`); each failure
    prints one line naming the file, the URL and the next mirror to `stream`.

    Raises:
        DownloadError: every source failed (one line, naming the file, the last URL and the
            partial file kept for resuming, if any).
    """
    os.makedirs(staging, exist_ok=True)
    final = os.path.join(staging, remote.name)
    part = f"{final}.part"
    recorded_path = os.path.join(staging, RECORDED)
    urls = ([f"{mirror.rstrip('/')}/{remote.name}"] if mirror else []) + (
        [] if mirror_only and mirror else list(remote.urls)
    )
    failures = []
    for i, url in enumerate(urls):
        next_url = urls[i + 1] if i + 1 < len(urls) else None
        try:
            _transfer(url, part, remote.size, stream, timeout, remote.name)
            _verify(remote, part, recorded_path)
            os.replace(part, final)
            return final
        except DownloadError as error:
            failures.append(f"{url}: {error}")
            line = f"{remote.name}: {error} from {url}; " + (
                f"trying the next mirror {next_url}" if next_url else "no mirror left"
            )
            if stream is not None:
                stream.write(f"warning: {line}\n")
    kept = f"; the partial download {part} is kept, rerun to resume" if os.path.exists(part) else ""
    raise DownloadError(
        f"could not fetch {remote.name}: {failures[-1]}; no mirror left (tried {len(urls)} "
        f"URL{'s' if len(urls) > 1 else ''}){kept}"
    )


def _verify(remote: RemoteFile, part: str, recorded_path: str) -> None:
    """Checks size and hashes of the complete `part`; deletes it when they do not match."""
    if not os.path.exists(part):
        raise DownloadError("the server sent no data")
    recorded = _read_json(recorded_path).get(remote.name, {})
    size = os.path.getsize(part)
    expected_size = remote.size if remote.size is not None else recorded.get("size")
    expected_sha = remote.sha256 or recorded.get("sha256")
    problem = None
    sha256 = md5 = None
    if expected_size is not None and size > expected_size:
        problem = f"size {size} bytes, expected {expected_size}"
    elif expected_size is not None and size < expected_size:
        # Short but possibly resumable: keep the partial file.
        raise DownloadError(f"truncated: {size} of {expected_size} bytes")
    else:
        sha256, md5 = _file_hashes(part)
        if expected_sha and sha256 != expected_sha:
            problem = f"checksum mismatch: SHA-256 {sha256}, expected {expected_sha}"
        elif remote.md5 and md5 != remote.md5:
            problem = f"checksum mismatch: MD5 {md5}, expected {remote.md5}"
    if problem:
        os.remove(part)
        raise DownloadError(f"{problem} (deleted)")
    if not remote.sha256 and not recorded:
        content = _read_json(recorded_path)
        content[remote.name] = {"size": size, "sha256": sha256}
        _write_json(recorded_path, content)


def download(
    name: str,
    data_dir: str,
    mirror: str | None = None,
    stream: TextIO | None = sys.stderr,
    timeout: float = _TIMEOUT,
    sources: dict[str, DatasetSource] | None = None,
    mirror_only: bool = False,
) -> list[str]:
    """Fetches, verifies and installs dataset `name` under `data_dir`; returns the targets.

    Args:
        name: a `SOURCES` name or a dataset it serves (e.g. `dsprites_full`).
        data_dir: the data directory (the loaders' `$TFDIS_DATA`).
        mirror: a URL prefix tried first for every file (`<mirror>/<file name>`).
        mirror_only: try only `mirror`, not the canonical sources and their mirrors.
        stream: where progress and per-mirror warnings go (None: silent).
        timeout: seconds to wait on a silent connection.
        sources: the source table (default `SOURCES`; tests pass their own).

    Raises:
        DownloadError, ValueError: one-line messages.
    """
    source = (sources or SOURCES)[name] if sources else resolve(name)
    if not source.files:
        raise ValueError(
            f"{source.name} has no published download URL the fetcher can use: copy "
            f"{source.targets[0]} into {data_dir} by hand"
        )
    staging = os.path.join(data_dir, STAGING)
    fetched = {
        remote.name: fetch_file(remote, staging, mirror, stream, timeout, mirror_only)
        for remote in source.files
    }
    source.install(fetched, data_dir)
    targets = [os.path.join(data_dir, target) for target in source.targets]
    installed = _read_json(os.path.join(staging, INSTALLED))
    for remote in source.files:
        recorded = _read_json(os.path.join(staging, RECORDED)).get(remote.name)
        installed.setdefault("files", {})[remote.name] = (
            "published" if remote.sha256 or remote.md5 else "recorded" if recorded else "none"
        )
    for target in source.targets:
        installed.setdefault("targets", {})[target] = _stamp(os.path.join(data_dir, target))
    _write_json(os.path.join(staging, INSTALLED), installed)
    return targets


def status(source: DatasetSource, data_dir: str) -> str:
    """`missing`, `present, verified (...)`, `present, unverified` or `present, changed ...`."""
    paths = [os.path.join(data_dir, target) for target in source.targets]
    present = [os.path.exists(path) for path in paths]
    if not any(present):
        return "missing"
    if not all(present):
        return f"incomplete ({sum(present)} of {len(paths)} files)"
    installed = _read_json(os.path.join(data_dir, STAGING, INSTALLED))
    stamps = [installed.get("targets", {}).get(target) for target in source.targets]
    if any(stamp is None for stamp in stamps):
        return "present, unverified (not installed by tfdis_download_data)"
    for target, stamp in zip(source.targets, stamps, strict=True):
        now = _stamp(os.path.join(data_dir, target))
        if now["size"] != stamp["size"] or abs(now["mtime"] - stamp["mtime"]) > 1e-3:
            return f"present, changed since it was verified ({target})"
    kinds = {installed.get("files", {}).get(remote.name, "none") for remote in source.files}
    how = "published checksum" if kinds == {"published"} else "hash recorded on first download"
    return f"present, verified ({how})"


def _human(num_bytes: int) -> str:
    if num_bytes >= 1e9:
        return f"{num_bytes / 1e9:.2f} GB"
    return f"{num_bytes / 1e6:.1f} MB"


def listing(data_dir: str, sources: Sequence[DatasetSource] | None = None) -> list[str]:
    """One line per source: name, size on disk, status and the datasets it serves.

    The size is the installed files' when present, else the expected one (`?` when unknown).
    """
    lines = []
    for source in sources or SOURCES.values():
        paths = [os.path.join(data_dir, target) for target in source.targets]
        if all(os.path.exists(path) for path in paths):
            size_bytes = sum(_stamp(path)["size"] for path in paths)
        else:
            size_bytes = source.size_on_disk
        size = _human(size_bytes) if size_bytes else "?"
        lines.append(
            f"{source.name:16s} {size:>9s}  {status(source, data_dir):58s}  "
            f"serves {', '.join(source.serves)}"
        )
    return lines
