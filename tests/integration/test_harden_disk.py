"""Hardening (issue PS, item 5): a full disk can be freed through the API.
The data directory is a small tmpfs (the tests run as root); once a filler
file has taken every byte, DELETE of a manifest and of a blob still works,
a failed upload leaves nothing behind, and pushes work again once there is
room. Upload sessions are capped per repository and per account, and purged
by age."""
import os
import sqlite3
import subprocess

import pytest
import requests

import authutil as au
import conftest
import ocitools as oci
from authutil import auth_factory  # noqa: F401  (fixture)
from conftest import berth_factory  # noqa: F401  (fixture)


@pytest.fixture
def small_fs(tmp_path):
    d = tmp_path / "small"
    d.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(d)],
                       capture_output=True)
    assert p.returncode == 0, "mounting a tmpfs needs root: %s" % p.stderr.decode()
    try:
        yield str(d)
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def fill(path):
    """Write a filler file until the filesystem is full; returns its path."""
    f = os.path.join(path, "filler")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (256 * 1024, 4096, 512, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    return f


def upload_files(data):
    n = 0
    for root, _, files in os.walk(os.path.join(data, "uploads")):
        n += len([f for f in files if not f.startswith(".")])
    return n


def push(url, repo, tag, seed):
    config = oci.image_config(seed)
    layer = ("layer-%s-" % seed).encode() + os.urandom(2048)
    for blob in (config, layer):
        r = requests.post(url + "/v2/%s/blobs/uploads/" % repo, params={"digest": oci.sha256(blob)},
                          data=blob, timeout=30)
        assert r.status_code == 201, (r.status_code, r.content)
    man = oci.manifest(config, [layer])
    r = requests.put(url + "/v2/%s/manifests/%s" % (repo, tag), data=man, timeout=30,
                     headers={"Content-Type": oci.OCI_MANIFEST})
    assert r.status_code == 201, (r.status_code, r.content)
    return oci.sha256(man), oci.sha256(layer)


def test_deletes_work_on_a_full_disk(small_fs):
    s = conftest.BerthServer(small_fs)
    s.start()
    try:
        digests = [push(s.url, "full/app", "v%d" % i, "seed-%d" % i) for i in range(3)]
        filler = fill(small_fs)
        # a push now fails, and leaves no upload data behind
        big = os.urandom(512 * 1024)
        r = requests.post(s.url + "/v2/full/app/blobs/uploads/", timeout=30)
        if r.status_code == 202:
            loc = r.headers["Location"]
            r = requests.put((s.url + loc) if loc.startswith("/") else loc,
                             params={"digest": oci.sha256(big)}, data=big, timeout=30)
        assert r.status_code >= 500 or r.status_code == 507, (r.status_code, r.content)
        assert upload_files(small_fs) == 0, os.listdir(os.path.join(small_fs, "uploads"))
        # deletes of manifests, tags and blobs work
        for man, layer in digests:
            r = requests.delete(s.url + "/v2/full/app/manifests/" + man, timeout=30)
            assert r.status_code == 202, (r.status_code, r.content)
            r = requests.delete(s.url + "/v2/full/app/blobs/" + layer, timeout=30)
            assert r.status_code == 202, (r.status_code, r.content)
            r = requests.get(s.url + "/v2/full/app/manifests/" + man, timeout=30)
            assert r.status_code == 404
        # with room again, the registry works as before
        os.unlink(filler)
        push(s.url, "full/app", "again", "seed-again")
        # and keeps working on a second fill (the reserve came back)
        filler = fill(small_fs)
        r = requests.delete(s.url + "/v2/full/app/manifests/again", timeout=30)
        assert r.status_code in (202, 400), (r.status_code, r.content)
        r = requests.get(s.url + "/v2/full/app/tags/list", timeout=30)
        assert r.status_code == 200
    finally:
        assert s.stop() in (0, None)


def test_failed_and_cancelled_uploads_leave_nothing(berth_factory):
    s = berth_factory()
    r = requests.post(s.url + "/v2/gone/app/blobs/uploads/", timeout=30)
    loc = r.headers["Location"]
    url = (s.url + loc) if loc.startswith("/") else loc
    r = requests.patch(url, data=b"x" * 1000, timeout=30,
                       headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202
    # a digest mismatch fails the upload: its data goes at once
    r = requests.put(url, params={"digest": "sha256:" + "0" * 64}, timeout=30)
    assert r.status_code == 400, r.status_code
    assert upload_files(s.data) == 0
    # a cancelled one too
    r = requests.post(s.url + "/v2/gone/app/blobs/uploads/", timeout=30)
    loc = r.headers["Location"]
    url = (s.url + loc) if loc.startswith("/") else loc
    requests.patch(url, data=b"y" * 1000, timeout=30)
    assert requests.delete(url, timeout=30).status_code == 204
    assert upload_files(s.data) == 0


def test_upload_sessions_capped_per_repository_and_account(auth_factory, tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text("limits:\n  max_uploads_per_repository: 6\n  max_uploads_per_account: 9\n")
    s = auth_factory(extra_args=["--config", str(cfg)])
    s.add_project("cap")
    a = s.add_user("alice")
    b = s.add_user("bob")
    s.set_member("cap", "alice", "developer")
    s.set_member("cap", "bob", "developer")
    codes = [s.req("POST", "/v2/cap/one/blobs/uploads/", a).status_code for _ in range(10)]
    assert codes == [202] * 6 + [429] * 4, codes
    codes = [s.req("POST", "/v2/cap/two/blobs/uploads/", a).status_code for _ in range(5)]
    assert codes == [202] * 3 + [429] * 2, codes
    # another account is not held by alice's sessions (but by the repository's)
    au.assert_status(s.req("POST", "/v2/cap/two/blobs/uploads/", b), 202)
    au.assert_status(s.req("POST", "/v2/cap/one/blobs/uploads/", b), 429)
    r = s.req("POST", "/v2/cap/one/blobs/uploads/", a)
    assert "TOOMANYREQUESTS" in r.text, r.text
    # sessions past the purge age are purged, which makes room
    con = sqlite3.connect(os.path.join(s.data, "berth.db"), timeout=30)
    con.execute("update uploads set started = started - 30 * 86400")
    con.commit()
    con.close()
    au.assert_status(s.req("POST", "/v2/cap/one/blobs/uploads/", a), 202)
    con = sqlite3.connect(os.path.join(s.data, "berth.db"), timeout=30)
    n = con.execute("select count(*) from uploads").fetchone()[0]
    con.close()
    assert n == 1, n
    assert upload_files(s.data) <= 2, upload_files(s.data)
