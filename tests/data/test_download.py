"""The fetcher against a local HTTP server on 127.0.0.1 serving small generated files.

The server misbehaves on purpose: 404, a wrong body (checksum mismatch), a short body that ends
cleanly (truncated), and a connection reset mid-file. Nothing here leaves this machine.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import io
import os
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time

import h5py
import numpy as np
import pytest
from PIL import Image

from tfdis.data import download
from tfdis.data.download import DownloadError, RemoteFile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    requests: list[tuple[str, str | None]] = []

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        _, mode, name = self.path.split("/", 2)
        type(self).requests.append((self.path, self.headers.get("Range")))
        body = self.files.get(name)
        if mode == "404" or body is None:
            self.send_error(404, "Not Found")
            return
        if mode == "wrong":
            body = bytes(255 - b for b in body)
        start = 0
        if mode == "files" and self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        if mode != "dropnolength":
            self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if mode == "truncated":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if mode in ("drop", "dropnolength"):
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            time.sleep(0.2)  # let the client read what was sent
            # Reset the connection (RST instead of a clean close).
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        self.wfile.write(body[start:])


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("no_proxy", "*")  # never route 127.0.0.1 through a proxy
    _Handler.files = {}
    _Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _payload(size=300_000, seed=0):
    return np.random.RandomState(seed).randint(0, 256, size=size).astype(np.uint8).tobytes()


def _source(remote, target="thing/thing.bin"):
    return {
        "thing": download.DatasetSource(
            "thing", (remote,), (target,), download._move(target), len(remote.name), ("thing",)
        )
    }


def _fetch(tmp_path, remote, **kwargs):
    log = io.StringIO()
    targets = download.download(
        "thing", str(tmp_path), stream=log, timeout=5, sources=_source(remote), **kwargs
    )
    return targets, log.getvalue()


def _staged(tmp_path):
    staging = tmp_path / download.STAGING
    return sorted(p.name for p in staging.iterdir()) if staging.exists() else []


def test_404_then_working_mirror(server, tmp_path):
    url, handler = server
    body = _payload()
    handler.files["a.bin"] = body
    remote = RemoteFile(
        "a.bin",
        (f"{url}/404/a.bin", f"{url}/files/a.bin"),
        len(body),
        hashlib.sha256(body).hexdigest(),
    )
    targets, log = _fetch(tmp_path, remote)
    assert open(targets[0], "rb").read() == body
    warnings = [line for line in log.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: a.bin: HTTP 404 Not Found from {url}/404/a.bin; trying the next mirror "
        f"{url}/files/a.bin"
    ]
    assert "a.bin: 0.3 / 0.3 MiB (100%)" in log  # the progress line
    assert _staged(tmp_path) == ["installed.json"]  # no partial, no recorded hash (published)
    assert "present, verified (published checksum)" in download.status(
        _source(remote)["thing"], str(tmp_path)
    )


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    url, handler = server
    body = _payload()
    handler.files["a.bin"] = body
    remote = RemoteFile(
        "a.bin", (f"{url}/wrong/a.bin",), len(body), hashlib.sha256(body).hexdigest()
    )
    with pytest.raises(DownloadError) as error:
        _fetch(tmp_path, remote)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"could not fetch a.bin: {url}/wrong/a.bin: checksum mismatch")
    assert "no mirror left" in message and "(deleted)" in message
    assert not (tmp_path / "thing").exists() and _staged(tmp_path) == []


def test_published_md5_is_checked(server, tmp_path):
    url, handler = server
    handler.files["a.bin"] = body = _payload()
    good = RemoteFile("a.bin", (f"{url}/files/a.bin",), md5=hashlib.md5(body).hexdigest())
    _fetch(tmp_path, good)
    bad = dataclasses.replace(good, md5="0" * 32)
    with pytest.raises(DownloadError, match="MD5 .* expected 0000"):
        _fetch(tmp_path / "other", bad)


def test_other_bytes_from_a_mirror_are_refused_and_the_next_url_tried(server, tmp_path):
    # The built-in mirrors of Cars3D and MPI3D are checked by a published MD5 alone (no size):
    # a URL that serves other bytes is deleted and the next one tried.
    url, handler = server
    handler.files["a.bin"] = body = _payload()
    remote = RemoteFile(
        "a.bin", (f"{url}/wrong/a.bin", f"{url}/files/a.bin"), md5=hashlib.md5(body).hexdigest()
    )
    targets, log = _fetch(tmp_path, remote)
    assert open(targets[0], "rb").read() == body
    (warning,) = [line for line in log.splitlines() if line.startswith("warning:")]
    assert warning.startswith("warning: a.bin: checksum mismatch: MD5 ")
    assert warning.endswith(
        f"(deleted) from {url}/wrong/a.bin; trying the next mirror {url}/files/a.bin"
    )


def test_builtin_mirrors_come_with_a_published_checksum():
    # A second URL is only trusted because the published checksum refuses a different file.
    for source in download.SOURCES.values():
        for remote in source.files:
            assert len(set(remote.urls)) == len(remote.urls), remote.name
            assert all(u.startswith(("https://", "http://")) for u in remote.urls), remote.name
            if len(remote.urls) > 1:
                assert remote.sha256 or remote.md5, remote.name
                assert remote.published_by, remote.name
    mirrored = {
        name: len(remote.urls)
        for name, source in download.SOURCES.items()
        for remote in source.files
        if len(remote.urls) > 1
    }
    assert mirrored == {
        "dsprites": 2, "cars3d": 2, "mpi3d_toy": 2, "mpi3d_realistic": 2, "mpi3d_real": 2,
    }  # fmt: skip
    assert download.SOURCES["cars3d"].files[0].md5 == "4e866a7919c1beedf53964e6f7a23686"
    for mode in ("mpi3d_toy", "mpi3d_realistic", "mpi3d_real"):
        (remote,) = download.SOURCES[mode].files
        assert all(u.endswith(f"/{mode}.npz") for u in remote.urls)


def test_truncated_body_is_kept_for_resume_then_resumed(server, tmp_path):
    url, handler = server
    body = _payload()
    handler.files["a.bin"] = body
    remote = RemoteFile(
        "a.bin", (f"{url}/truncated/a.bin",), len(body), hashlib.sha256(body).hexdigest()
    )
    with pytest.raises(DownloadError) as error:
        _fetch(tmp_path, remote)
    half = len(body) // 2
    assert f"truncated at {half} of {len(body)} bytes" in str(error.value)
    assert "is kept, rerun to resume" in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "thing").exists()  # the loaders' layout holds nothing
    assert _staged(tmp_path) == ["a.bin.part"]
    # A rerun against a working server asks only for the rest and verifies the whole.
    targets, _ = _fetch(tmp_path, dataclasses.replace(remote, urls=(f"{url}/files/a.bin",)))
    assert handler.requests[-1] == ("/files/a.bin", f"bytes={half}-")
    assert open(targets[0], "rb").read() == body


def test_connection_dropped_mid_file_then_mirror_resumes(server, tmp_path):
    url, handler = server
    body = _payload()
    handler.files["a.bin"] = body
    remote = RemoteFile(
        "a.bin",
        (f"{url}/drop/a.bin", f"{url}/files/a.bin"),
        len(body),
        hashlib.sha256(body).hexdigest(),
    )
    targets, log = _fetch(tmp_path, remote)
    assert open(targets[0], "rb").read() == body
    assert "warning: a.bin: connection dropped" in log
    assert f"from {url}/drop/a.bin; trying the next mirror {url}/files/a.bin" in log
    resumed_from = int(handler.requests[-1][1].split("=")[1].rstrip("-"))
    assert 0 < resumed_from <= len(body) // 3


def test_unpublished_hash_is_recorded_then_enforced(server, tmp_path):
    url, handler = server
    handler.files["a.bin"] = body = _payload()
    remote = RemoteFile("a.bin", (f"{url}/files/a.bin",))
    _fetch(tmp_path, remote)
    recorded = download._read_json(str(tmp_path / download.STAGING / download.RECORDED))
    assert recorded == {"a.bin": {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()}}
    assert "hash recorded on first download" in download.status(
        _source(remote)["thing"], str(tmp_path)
    )
    handler.files["a.bin"] = _payload(seed=1)  # the source changed: same size, other bytes
    with pytest.raises(DownloadError, match="checksum mismatch: SHA-256"):
        _fetch(tmp_path, remote)
    assert open(tmp_path / "thing" / "thing.bin", "rb").read() == body  # the old copy stays


def test_list_reports_missing_verified_changed_unverified(server, tmp_path):
    url, handler = server
    handler.files["a.bin"] = body = _payload(1000)
    remote = RemoteFile(
        "a.bin", (f"{url}/files/a.bin",), len(body), hashlib.sha256(body).hexdigest()
    )
    source = _source(remote)["thing"]
    assert download.status(source, str(tmp_path)) == "missing"
    _fetch(tmp_path, remote)
    (line,) = download.listing(str(tmp_path), [source])
    assert line.split()[:3] == ["thing", "0.0", "MB"] and "verified (published" in line
    with open(tmp_path / "thing" / "thing.bin", "ab") as handle:
        handle.write(b"x")
    assert download.status(source, str(tmp_path)).startswith("present, changed")
    other = tmp_path / "by_hand"
    (other / "thing").mkdir(parents=True)
    (other / "thing" / "thing.bin").write_bytes(body)
    assert download.status(source, str(other)).startswith("present, unverified")


def _dsprites_hdf5(path, sizes=(1, 3, 1, 2, 2, 2)):
    classes = np.stack(np.unravel_index(np.arange(np.prod(sizes)), sizes), axis=1)
    images = np.zeros((len(classes), 64, 64), np.uint8)
    images[np.arange(len(classes)), classes[:, 4] * 8 + classes[:, 5], classes[:, 1]] = 1
    with h5py.File(path, "w") as handle:
        handle["imgs"] = images
        handle["latents/classes"] = classes
        handle["latents/values"] = classes.astype(np.float64)
    return images, classes


def test_dsprites_hdf5_is_converted_to_the_npz_the_loader_reads(server, tmp_path):
    from tfdis.data.dsprites import DSprites

    url, handler = server
    images, classes = _dsprites_hdf5(tmp_path / "d.hdf5")
    body = (tmp_path / "d.hdf5").read_bytes()
    name = download.SOURCES["dsprites"].files[0].name
    handler.files[name] = body
    source = dataclasses.replace(
        download.SOURCES["dsprites"],
        files=(
            RemoteFile(name, (f"{url}/files/{name}",), len(body), hashlib.sha256(body).hexdigest()),
        ),
    )
    targets = download.download(
        "dsprites", str(tmp_path / "data"), stream=None, sources={"dsprites": source}
    )
    assert targets == [str(tmp_path / "data" / download.DSPRITES_TARGET)]
    assert _staged(tmp_path / "data") == ["installed.json"]  # the hdf5 is gone once converted
    data = DSprites(npz_path=targets[0])
    assert data.factors_num_values == [3, 1, 2, 2, 2]
    factors = data.sample_factors(20, np.random.RandomState(0))
    observations = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    rows = [int(np.flatnonzero((classes[:, 1:] == f).all(axis=1))[0]) for f in factors]
    np.testing.assert_array_equal(observations[..., 0], images[rows].astype(np.float32))


def _norb_matrix(array):
    magic = 0x1E3D4C55 if array.dtype == np.uint8 else 0x1E3D4C54
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    header = struct.pack(f"<{2 + len(dims)}i", magic, array.ndim, *dims)
    return header + array.astype(array.dtype.newbyteorder("<")).tobytes()


def test_smallnorb_files_are_gunzipped_into_dlibs_layout_and_read(server, tmp_path):
    from tfdis.data.smallnorb import SmallNORB

    url, handler = server
    rs = np.random.RandomState(0)
    files, truth = [], []
    for ids, split in (("46789", "training"), ("01235", "testing")):
        num = 3
        dat = np.zeros((num, 2, 96, 96), np.uint8)
        dat[:, 0] = rs.randint(0, 256, size=(num, 1, 1))  # flat grey, a level per image
        category = rs.randint(0, 5, num).astype(np.int32)
        info = np.stack(
            [
                rs.randint(0, 10, num),
                rs.randint(0, 9, num),
                2 * rs.randint(0, 18, num),
                rs.randint(0, 6, num),
            ],
            1,
        ).astype(np.int32)
        truth.append(
            (dat[:, 0, 0, 0], np.stack([category, info[:, 1], info[:, 2] // 2, info[:, 3]], 1))
        )
        for kind, array in (("dat", dat), ("cat", category), ("info", info)):
            name = f"smallnorb-5x{ids}x9x18x6x2x96x96-{split}-{kind}.mat.gz"
            handler.files[name] = body = gzip.compress(_norb_matrix(array))
            files.append(
                RemoteFile(
                    name, (f"{url}/files/{name}",), len(body), hashlib.sha256(body).hexdigest()
                )
            )
    source = dataclasses.replace(download.SOURCES["smallnorb"], files=tuple(files))
    download.download("smallnorb", str(tmp_path), stream=None, sources={"smallnorb": source})
    assert sorted(os.listdir(tmp_path / "small_norb")) == sorted(
        t.split("/")[-1] for t in source.targets
    )
    data = SmallNORB(norb_dir=str(tmp_path / "small_norb"))
    levels = np.concatenate([t[0] for t in truth])
    factors = np.concatenate([t[1] for t in truth])
    assert len({tuple(f) for f in factors}) == 6  # distinct, so each request has one image
    assert data.dataset_size == 6
    observations = data.sample_observations_from_factors(factors, np.random.RandomState(0))
    assert observations.shape == (6, 64, 64, 1)
    # Flat grey images stay flat under the resize: the level identifies the row (training rows
    # first, azimuth halved).
    np.testing.assert_allclose(observations[:, 32, 32, 0], levels / 255.0, atol=1 / 255)


def test_cars_archive_is_extracted(server, tmp_path):
    url, handler = server
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name, content in (
            ("data/cars/car_001_mesh.mat", b"one"),
            ("data/cars/car_002_mesh.mat", b"two"),
            ("data/other/x.mat", b"no"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    name = download.SOURCES["cars3d"].files[0].name
    handler.files[name] = archive.getvalue()
    source = dataclasses.replace(
        download.SOURCES["cars3d"], files=(RemoteFile(name, (f"{url}/files/{name}",)),)
    )
    download.download("cars3d", str(tmp_path), stream=None, sources={"cars3d": source})
    assert sorted(os.listdir(tmp_path / "cars")) == ["car_001_mesh.mat", "car_002_mesh.mat"]
    assert (tmp_path / "cars" / "car_002_mesh.mat").read_bytes() == b"two"
    assert "hash recorded on first download" in download.status(source, str(tmp_path))


def test_cli_fetches_from_a_mirror_and_lists(server, tmp_path):
    url, handler = server
    image = io.BytesIO()
    Image.fromarray(np.full((80, 80, 3), 200, np.uint8)).save(image, format="JPEG")
    handler.files["The_Scream.jpg"] = image.getvalue()
    env = {**os.environ, "PYTHONPATH": ROOT}
    command = [
        sys.executable,
        os.path.join(ROOT, "bin", "tfdis_download_data"),
        f"--data_dir={tmp_path}",
    ]
    done = subprocess.run(
        [*command, "--dataset=scream", f"--mirror={url}/files", "--mirror_only", "--timeout=5"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "scream" / "scream.jpg")
    assert (tmp_path / "scream" / "scream.jpg").read_bytes() == image.getvalue()
    listed = subprocess.run(
        [*command, "--list"], capture_output=True, text=True, env=env, timeout=60
    )
    line = next(x for x in listed.stdout.splitlines() if x.startswith("scream_dsprites"))
    assert "present, verified (hash recorded on first download)" in line
    assert "mpi3d_toy" in listed.stdout and "missing" in listed.stdout
    assert sorted(x.split()[0] for x in listed.stdout.splitlines()[1:]) == sorted(download.SOURCES)
    by_hand = subprocess.run(
        [*command, "--dataset=mpi3d_complex"], capture_output=True, text=True, env=env, timeout=60
    )
    assert by_hand.returncode == 1 and by_hand.stderr.startswith(
        "tfdis_download_data: error: mpi3d_complex has no published download URL the fetcher "
        "can use"
    )
    failed = subprocess.run(
        [*command, "--dataset=scream", f"--mirror={url}/404", "--mirror_only", "--timeout=5"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        f"warning: The_Scream.jpg: HTTP 404 Not Found from {url}/404/The_Scream.jpg; no mirror "
        "left",
        f"tfdis_download_data: error: could not fetch The_Scream.jpg: {url}/404/The_Scream.jpg: "
        "HTTP 404 Not Found; no mirror left (tried 1 URL)",
    ]
    assert handler.requests[-1][0] == "/404/The_Scream.jpg"  # only the local server was asked


def test_reset_without_a_length_is_not_taken_for_a_whole_file(server, tmp_path):
    url, handler = server
    handler.files["a.bin"] = _payload()
    remote = RemoteFile("a.bin", (f"{url}/dropnolength/a.bin",))  # nothing published
    with pytest.raises(DownloadError, match="connection dropped after 100000 bytes"):
        _fetch(tmp_path, remote)
    assert not (tmp_path / "thing").exists()
    assert _staged(tmp_path) == ["a.bin.part"]  # no hash was recorded from the broken transfer
