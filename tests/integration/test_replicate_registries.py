"""Replication registries from the command line (issue P8): `berth admin
replication registries list|create|delete|ping`, as Harbor's
/api/v2.0/registries with its health check, against a real Distribution 2.8
that requires a login. Helpers and fixtures: replutil.py.
"""
import json

import requests

import copyutil as u
from replutil import Distribution, api, brief_config, need_distribution, source  # noqa: F401


def test_admin_replication_registries_cli(source, tmp_path):
    need_distribution()
    with Distribution(str(tmp_path / "dist"), users={"dr": "dr-secret"}) as dist:
        src = source(brief_config(tmp_path, dist.url))
        adm = ("admin", "--server", src.url, "replication", "registries")
        pw = tmp_path / "pw"
        pw.write_text("dr-secret\n")
        bad = tmp_path / "bad"
        bad.write_text("not-the-password\n")

        u.berth(*adm, "create", "--name", "dr", "--url", dist.url, "--username", "dr",
                "--password-file", pw, "--description", "the DR copy")
        u.berth(*adm, "create", "--name", "dr-wrong", "--url", dist.url, "--username", "dr",
                "--password-file", "-", input=b"not-the-password\n")
        u.berth(*adm, "create", "--name", "dr-anon", "--url", dist.url)
        u.berth(*adm, "create", "--name", "nowhere", "--url", "http://127.0.0.1:1")

        rows = [r.split("\t") for r in u.berth(*adm, "list").stdout.decode().splitlines()]
        assert rows[0] == ["NAME", "URL", "USERNAME", "INSECURE", "PASSWORD", "READ-ONLY",
                           "DESCRIPTION"]
        by = {r[0]: r for r in rows[1:]}
        assert by["dr"] == ["dr", dist.url, "dr", "no", "yes", "no", "the DR copy"]
        assert by["dr-anon"][2:5] == ["-", "no", "no"]
        listed = json.loads(u.berth("admin", "--server", src.url, "--format", "json",
                                    "replication", "registries", "list").stdout)
        assert sorted(g["name"] for g in listed) == ["company-registry", "dr", "dr-anon", "dr-wrong",
                                                    "nowhere"]
        assert "dr-secret" not in json.dumps(listed)

        # ping: GET /v2/ with the registry's credentials, as an execution would.
        p = u.berth(*adm, "ping", "dr")
        assert p.stdout.decode() == "healthy\n", p
        for name, why in (("dr-wrong", "credentials were rejected"), ("dr-anon", "authentication"),
                          ("nowhere", "")):
            p = u.berth(*adm, "ping", name, check=False)
            out = p.stdout.decode()
            assert p.returncode == 1 and out.startswith("unhealthy: "), (name, p)
            assert why in out, (name, out)
        r = api(src, "POST", "/registries/dr/ping", status=200).json()
        assert r == {"name": "dr", "status": "healthy", "message": ""}
        api(src, "POST", "/registries/missing/ping", status=404)
        p = u.berth(*adm, "ping", "missing", check=False)
        assert p.returncode == 1 and b"no such registry" in p.stderr, p

        # The registry works for a rule, and cannot go while a rule names it.
        api(src, "POST", "/policies", {"name": "to-dr", "target": "dr",
                                       "filters": [{"pattern": "apps/**"}]}, status=201)
        p = u.berth(*adm, "delete", "dr", check=False)
        assert p.returncode == 1 and b"to-dr" in p.stderr, p
        api(src, "DELETE", "/policies/to-dr", status=204)
        assert u.berth(*adm, "delete", "dr").stdout.decode() == "deleted\n"
        names = [g["name"] for g in api(src, "GET", "/registries", status=200).json()]
        assert "dr" not in names

        # Usage errors exit 2 with one line; a duplicate is the server's refusal (1).
        for args in (("create", "--name", "x"), ("create", "--url", dist.url),
                     ("create", "--name", "x", "--url", dist.url, "--username", "dr"),
                     ("ping",), ("frobnicate", "x"), ("delete", "a/b")):
            p = u.berth(*adm, *args, check=False)
            assert p.returncode == 2 and p.stderr.decode().startswith("berth admin: "), (args, p)
        p = u.berth(*adm, "create", "--name", "dr-anon", "--url", dist.url, check=False)
        assert p.returncode == 1 and b"exists" in p.stderr, p
        p = u.berth(*adm, "create", "--help")
        assert b"--password-file" in p.stdout
        assert "dr-secret" not in src.read_log()
        assert requests.get(dist.url + "/v2/", timeout=10).status_code == 401
