"""No password, robot secret or token in any log line or error message: one
server at debug log level goes through every path a secret takes (Basic on
/v2/ and the admin API, GET and POST /token, Bearer requests, wrong and
near-miss passwords, unknown users, forged and expired-looking tokens,
password changes, robot creation and deletion, a real skopeo push and pull);
then its whole output, every error body it sent and its audit log are
searched for each secret (and the base64 of every Basic pair): none appear.
The `auth_factory` fixture repeats the log check for every server of the
other test_auth_* files."""
import shutil

import authutil as au
from authutil import auth_factory, client_env as env  # noqa: F401  (fixtures)
import copyutil as u


def test_no_secret_in_logs_or_errors(auth_factory, env, tmp_path):
    s = auth_factory(extra_args=["--log-level", "debug"])
    bodies = []

    def keep(r):
        bodies.append(r.text)
        return r

    s.add_project("team")
    dev = s.add_user("dev")
    s.set_member("team", "dev", "developer")
    bot = s.add_robot("ci", [{"project": "team", "actions": ["pull", "push"]}], expires_in_days=1)
    s.seed("team/app")
    # Basic, right and wrong, known and unknown users, on /v2/ and the API
    near = s.remember(dev[1][:-1] + ("A" if dev[1][-1] != "A" else "B"))
    for c in (dev, bot, ("dev", near), ("ghost", dev[1]), (bot[0], near), ("admin", near)):
        keep(s.req("GET", "/v2/team/app/manifests/1", c, source="127.0.10.1"))
        keep(s.api("GET", "/users", cred=c, source="127.0.10.2"))
    # tokens: GET and POST, used as Bearer; forged; in the query string by mistake
    for post in (False, True):
        t = s.bearer(dev, "repository:team/app:pull,push", post=post)
        keep(s.req("GET", "/v2/team/app/tags/list", t))
        keep(s.req("GET", "/v2/team/other/tags/list", t))
        bad = au.jwt_resign(t, payload=dict(au.jwt_decode(t)[1], sub="admin"))
        s.remember_token(bad)
        keep(s.req("GET", "/v2/team/app/tags/list", bad))
    keep(s.req("POST", "/token", data={"grant_type": "password", "username": "dev", "password": near,
                                      "service": "berth", "client_id": "x"}, source="127.0.10.3"))
    keep(s.req("GET", "/token", ("dev", near), params={"service": "berth"}, source="127.0.10.4"))
    keep(s.req("GET", "/v2/?password=%s" % dev[1]))   # a secret where it does not belong
    # admin changes carrying secrets
    newpw = s.remember(au.rand_secret("chg"))
    s.remember_basic("dev", newpw)
    keep(s.api("PUT", "/users/dev/password", {"password": newpw, "current_password": dev[1]},
               cred=dev, expect=204))
    s.add_user("tmp")
    keep(s.api("POST", "/users", {"name": "tmp", "password": s.remember(au.rand_secret("dup"))}))
    keep(s.api("POST", "/users", '{"name": "bad", "password": "%s"' % s.remember(au.rand_secret("trunc"))))
    r = s.api("DELETE", "/robots/%s" % bot[0])
    if r.status_code == 404:
        r = s.api("DELETE", "/robots/ci")
    keep(r)
    keep(s.req("GET", "/v2/", bot, source="127.0.10.5"))   # a deleted robot's secret
    # a real client
    u.need("skopeo")
    lay = u.small_image()
    u.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "dev:" + newpw, "oci:%s:small" % lay,
             "docker://%s/team/sk:1" % s.host, env=env)
    p = u.skopeo("copy", "--src-tls-verify=false", "--src-creds", "dev:" + dev[1],
                 "docker://%s/team/sk:1" % s.host, "oci:%s:x" % (tmp_path / "o"), env=env, check=False)
    assert p.returncode != 0   # the old password no longer works
    bodies.append(p.stderr.decode("utf-8", "replace"))
    audit = s.api("GET", "/audit", params={"limit": 1000}, expect=200).text
    assert s.stop() == 0
    log = s.read_log()
    assert "debug" in log.lower() or len(log.splitlines()) > 20, "the server logged nearly nothing"
    au.assert_no_secrets(s)
    for name, text in (("an error body", "\n".join(bodies)), ("the audit log", audit)):
        found = [x for x in s.secrets if x in text]
        assert not found, "%s holds secrets: %s" % (name, [f[:10] + "..." for f in found])
