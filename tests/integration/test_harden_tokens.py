"""Hardening (issue PS, item 2; issue PX item 11): the admin API takes Basic
credentials or a token whose scope is exactly `registry:admin:*`; a password
change, a user's disabling or deletion and a robot's secret rotation revoke
every token issued before it (a per-account generation number carried in the
token); changing one's own password needs `current_password`; and a cache of
Basic verifications never lets an old password through."""
import pytest

import authutil as au
from authutil import auth_factory  # noqa: F401  (fixture)

ADMIN_SCOPE = "registry:admin:*"


@pytest.fixture
def srv(auth_factory):
    s = auth_factory()
    s.add_project("proja")
    return s


def test_repository_token_cannot_use_the_admin_api(srv):
    s = srv
    alice = s.add_user("alice")
    s.set_member("proja", "alice", "developer")
    tok = s.bearer(alice, "repository:proja/app:pull")
    new = s.remember(au.rand_secret("new"))
    r = s.api("PUT", "/users/alice/password", {"password": new, "current_password": alice[1]},
              cred=tok)
    assert r.status_code in (401, 403), (r.status_code, r.content)
    au.assert_status(s.req("GET", "/v2/", alice), 200)
    # the admin scope, as asked for by the administrator, works
    atok = s.bearer(s.admin, ADMIN_SCOPE)
    assert au.jwt_decode(atok)[1]["access"] == [
        {"type": "registry", "name": "admin", "actions": ["*"]}]
    au.assert_status(s.api("GET", "/users", cred=atok), 200)
    # a token with the admin scope and others is not "exactly" the admin scope
    mixed = s.bearer(s.admin, ADMIN_SCOPE, "repository:proja/app:pull")
    r = s.api("GET", "/users", cred=mixed)
    assert r.status_code in (401, 403), (r.status_code, r.content)
    # anonymous callers are not given the admin scope
    anon = s.token(None, [ADMIN_SCOPE])["token"]
    assert not au.jwt_decode(anon)[1].get("access"), au.jwt_decode(anon)[1]
    r = s.api("GET", "/projects", cred=anon)
    assert r.status_code in (401, 403), (r.status_code, r.content)
    # alice's own admin-scope token acts as alice (her own password, not others')
    t2 = s.bearer(alice, ADMIN_SCOPE)
    au.assert_status(s.api("GET", "/users", cred=t2), 403)


def test_password_reset_revokes_earlier_tokens(srv):
    s = srv
    eve = s.add_user("eve")
    s.set_member("proja", "eve", "developer")
    s.seed("proja/app")
    pull = s.bearer(eve, "repository:proja/app:pull")
    admin_tok = s.bearer(eve, ADMIN_SCOPE)
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", pull), 200)
    reset = s.remember(au.rand_secret("reset"))
    s.remember_basic("eve", reset)
    s.api("PUT", "/users/eve/password", {"password": reset}, expect=204)
    # in the same second: no iat comparison can tell these tokens apart
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", pull), 401)
    again = s.remember(au.rand_secret("again"))
    r = s.api("PUT", "/users/eve/password", {"password": again, "current_password": eve[1]},
              cred=admin_tok)
    assert r.status_code == 401, (r.status_code, r.content)
    au.assert_status(s.req("GET", "/v2/", ("eve", reset)), 200)
    # a token issued after the reset works
    fresh = s.bearer(("eve", reset), "repository:proja/app:pull")
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", fresh), 200)


def test_disable_and_delete_revoke_tokens(srv):
    s = srv
    bob = s.add_user("bob")
    s.set_member("proja", "bob", "developer")
    s.seed("proja/app")
    tok = s.bearer(bob, "repository:proja/app:pull")
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", tok), 200)
    s.api("PUT", "/users/bob", {"disabled": True}, expect=204)
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", tok), 401)
    au.assert_status(s.req("GET", "/v2/", bob, source="127.0.41.1"), 401)
    listed = {x["name"]: x for x in s.api("GET", "/users", expect=200).json()}
    assert listed["bob"]["disabled"] is True
    s.api("PUT", "/users/bob", {"disabled": False}, expect=204)
    au.assert_status(s.req("GET", "/v2/", bob, source="127.0.41.2"), 200)
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", tok), 401)   # still revoked
    tok2 = s.bearer(bob, "repository:proja/app:pull")
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", tok2), 200)
    s.api("DELETE", "/users/bob", expect=204)
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", tok2), 401)
    # re-created at once under the same name: the old token is not his
    s.add_user("bob")
    s.set_member("proja", "bob", "developer")
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", tok2), 401)


def test_robot_secret_rotation_revokes_tokens(srv):
    s = srv
    s.seed("proja/app")
    login, secret = s.add_robot("ci", [{"project": "proja", "actions": ["pull"]}])
    tok = s.bearer((login, secret), "repository:proja/app:pull")
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", tok), 200)
    r = s.api("POST", "/robots/ci/secret", {}, expect=200)
    new = r.json()["secret"]
    s.remember_basic(login, new)
    assert new != secret and len(new) >= 16
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", tok), 401)
    au.assert_status(s.req("GET", "/v2/", (login, secret), source="127.0.42.1"), 401)
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", (login, new)), 200)


def test_own_password_change_needs_the_current_password(srv):
    s = srv
    carol = s.add_user("carol")
    new = s.remember(au.rand_secret("new"))
    s.remember_basic("carol", new)
    r = s.api("PUT", "/users/carol/password", {"password": new}, cred=carol)
    au.assert_status(r, 400)
    assert "current_password" in r.text
    r = s.api("PUT", "/users/carol/password",
              {"password": new, "current_password": "not-her-password"}, cred=carol)
    au.assert_status(r, 403)
    au.assert_status(s.req("GET", "/v2/", carol), 200)
    au.assert_status(s.api("PUT", "/users/carol/password",
                           {"password": new, "current_password": carol[1]}, cred=carol), 204)
    au.assert_status(s.req("GET", "/v2/", ("carol", new)), 200)
    # the administrator resetting someone else's password needs no current one
    s.api("PUT", "/users/carol/password", {"password": carol[1]}, expect=204)
    # but the administrator changing their own does
    r = s.api("PUT", "/users/admin/password", {"password": au.rand_secret("x")})
    au.assert_status(r, 400)


def test_old_password_fails_on_the_very_next_request(srv):
    """Many Basic requests first (a verification cache would be warm), then a
    change: the next request with the old password fails, the new one works,
    and the other way round again."""
    s = srv
    dan = s.add_user("dan")
    s.set_member("proja", "dan", "developer")
    s.seed("proja/app")
    for _ in range(20):
        au.assert_status(s.req("GET", "/v2/proja/app/tags/list", dan), 200)
    new = s.remember(au.rand_secret("new"))
    s.remember_basic("dan", new)
    au.assert_status(s.api("PUT", "/users/dan/password",
                           {"password": new, "current_password": dan[1]}, cred=dan), 204)
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", dan), 401)
    for _ in range(5):
        au.assert_status(s.req("GET", "/v2/proja/app/tags/list", ("dan", new)), 200)
    s.api("PUT", "/users/dan/password", {"password": dan[1]}, expect=204)
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", ("dan", new), source="127.0.43.1"),
                     401)
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", dan), 200)
    # disabling is as immediate
    s.api("PUT", "/users/dan", {"disabled": True}, expect=204)
    au.assert_status(s.req("GET", "/v2/proja/app/tags/list", dan, source="127.0.43.2"), 401)


def test_cached_verifications_keep_throttling_and_audit(srv):
    s = srv
    eric = s.add_user("eric")
    for _ in range(5):
        au.assert_status(s.req("GET", "/v2/", eric, source="127.0.44.1"), 200)
    for i in range(5):
        au.assert_status(s.req("GET", "/v2/", ("eric", "bad-%d" % i), source="127.0.44.2"), 401)
    # the pair (eric, 127.0.44.2) is throttled even for the right (cached) password
    au.assert_status(s.req("GET", "/v2/", eric, source="127.0.44.2"), 429)
    rows = s.api("GET", "/audit", params={"limit": "50"}, expect=200).json()
    fails = [x for x in rows if x["action"] == "login_failure" and x["who"] == "eric"]
    assert len(fails) >= 5, rows
