"""Reading one array of an `.npz` without decoding the whole archive (SPEC section 3).

An `.npz` is a zip archive of `.npy` members. A member stored uncompressed (`np.savez`) is a
contiguous run of bytes in the archive, so it is memory-mapped in place: nothing is read until
rows are indexed. A compressed member (`np.savez_compressed`) cannot be mapped; it is extracted
once, streamed in chunks, into an uncompressed `.npy` next to the archive
(`<archive>.<key>.npy`, written to a temporary name and renamed when complete), and that file is
mapped from then on.
"""

from __future__ import annotations

import os
import struct
import zipfile

import numpy as np

_CHUNK_BYTES = 64 << 20


def _read_npy_header(stream) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(stream)
    return np.lib.format.read_array_header_2_0(stream)


def npz_keys(path: str) -> list[str]:
    """The array names in the `.npz` at `path` (members without their `.npy` suffix)."""
    with zipfile.ZipFile(path) as archive:
        return [name[:-4] for name in archive.namelist() if name.endswith(".npy")]


def _stored_member_offset(path: str, info: zipfile.ZipInfo) -> int:
    """Byte offset in the archive of the first data byte of the stored member `info`."""
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)
        if local[:4] != b"PK\x03\x04":
            raise ValueError(f"{path}: member {info.filename} has no local zip header")
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        return info.header_offset + 30 + name_length + extra_length


def npz_array(path: str, key: str, cache_dir: str | None = None) -> np.ndarray:
    """Member `key` of the `.npz` at `path`, memory-mapped read-only.

    Args:
        path: the `.npz` archive.
        key: the array name (e.g. "images").
        cache_dir: where an extracted copy of a compressed member goes (default: next to
            `path`).

    Returns:
        a read-only `np.memmap` (or, for a zero-size array, an ndarray) with the member's shape
        and dtype.

    Raises:
        KeyError: the archive has no member `key`.
        ValueError: the member holds Python objects or is Fortran-ordered.
    """
    member = f"{key}.npy"
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise KeyError(
                f"{path} has no array {key!r} (it holds {', '.join(npz_keys(path)) or 'none'})"
            ) from None
        with archive.open(info) as stream:
            shape, fortran_order, dtype = _read_npy_header(stream)
            header_bytes = stream.tell()
        if dtype.hasobject or fortran_order:
            raise ValueError(
                f"{path}: array {key!r} must be a C-ordered array of numbers, got dtype "
                f"{dtype} (fortran_order={fortran_order})"
            )
        if int(np.prod(shape)) == 0:
            return np.zeros(shape, dtype)
        if info.compress_type == zipfile.ZIP_STORED:
            offset = _stored_member_offset(path, info) + header_bytes
            return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=tuple(shape))
    extracted = os.path.join(
        cache_dir or os.path.dirname(os.path.abspath(path)), f"{os.path.basename(path)}.{key}.npy"
    )
    if not os.path.isfile(extracted) or os.path.getmtime(extracted) < os.path.getmtime(path):
        _extract_member(path, member, extracted)
    return np.load(extracted, mmap_mode="r")


def _extract_member(path: str, member: str, target: str) -> None:
    """Streams the (compressed) member of the archive into `target`, atomically."""
    partial = f"{target}.partial"
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as source:
            with open(partial, "wb") as sink:
                while True:
                    chunk = source.read(_CHUNK_BYTES)
                    if not chunk:
                        break
                    sink.write(chunk)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
