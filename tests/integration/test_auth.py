"""Sign-in, setup, sessions in Redis, tokens, roles and isolation, against real PostgreSQL and Redis."""
import redis as redis_lib

from tests.conftest import PASSWORD, csrf_token, login


def session_keys(redis_url):
    return redis_lib.Redis.from_url(redis_url).keys("ai-prism:session:*")


def test_first_visit_offers_admin_setup_then_refuses_a_second(client):
    assert client.get("/").headers["Location"].endswith("/setup")
    assert client.get("/api/auth/setup").get_json() == {"setup_needed": True}
    response = client.post(
        "/api/auth/setup", json={"email": "Boss@Example.com", "password": PASSWORD},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code == 201
    assert response.get_json()["user"]["role"] == "admin"
    assert response.get_json()["user"]["email"] == "boss@example.com"
    assert client.get("/api/auth/me").get_json()["user"]["role"] == "admin"
    again = client.post(
        "/api/auth/setup", json={"email": "other@example.com", "password": PASSWORD},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "already_set_up"
    assert client.get("/setup").headers["Location"].endswith("/login")


def test_setup_rejects_weak_password_with_a_reason(client):
    response = client.post(
        "/api/auth/setup", json={"email": "boss@example.com", "password": "short"},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "weak_password"


def test_sign_in_sets_a_redis_session_with_safe_cookie_and_new_id(client, make_user, redis_url):
    make_user("ann@example.com")
    client.get("/api/auth/csrf")
    before = client.get_cookie("ai-prism").value
    response = login(client, "ann@example.com")
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["email"] == "ann@example.com" and body["csrf_token"]
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    after = client.get_cookie("ai-prism").value
    assert after != before, "the session id must be regenerated at sign-in"
    keys = session_keys(redis_url)
    assert [k.decode() for k in keys] == [f"ai-prism:session:{after}"]
    me = client.get("/api/auth/me").get_json()
    assert me["user"]["email"] == "ann@example.com" and me["auth"] == "session"


def test_session_is_msgpack_not_pickle(client, make_user, redis_url):
    import msgspec

    make_user("ann@example.com")
    login(client, "ann@example.com")
    raw = redis_lib.Redis.from_url(redis_url).get(session_keys(redis_url)[0])
    assert not raw.startswith(b"\x80"), "pickle protocol marker found"
    data = msgspec.msgpack.decode(raw)
    assert data["_user_id"].startswith("1:")


def test_wrong_password_gives_401_and_no_session(client, make_user, redis_url):
    make_user("ann@example.com")
    token = csrf_token(client)
    keys_before = set(session_keys(redis_url))
    response = client.post(
        "/api/auth/login", json={"email": "ann@example.com", "password": "not the password"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"
    assert client.get("/api/auth/me").status_code == 401
    # The anonymous CSRF session may exist, but nothing in it names a user.
    for key in set(session_keys(redis_url)) - keys_before | keys_before:
        assert b"_user_id" not in redis_lib.Redis.from_url(redis_url).get(key)


def test_unknown_account_and_wrong_password_look_the_same(client, make_user):
    make_user("ann@example.com")
    token = csrf_token(client)
    a = client.post("/api/auth/login", json={"email": "ann@example.com", "password": "nope nope nope"}, headers={"X-CSRFToken": token})
    b = client.post("/api/auth/login", json={"email": "who@example.com", "password": "nope nope nope"}, headers={"X-CSRFToken": token})
    assert a.status_code == b.status_code == 401
    assert a.get_json()["error"]["message"] == b.get_json()["error"]["message"]


def test_missing_or_wrong_csrf_token_is_refused(client, make_user):
    make_user("ann@example.com")
    client.get("/api/auth/csrf")
    missing = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD},
                        headers={"X-CSRFToken": "forged"})
    assert wrong.status_code == 400


def test_logout_ends_the_session_in_redis(signed_in, redis_url):
    assert len(session_keys(redis_url)) == 1
    response = signed_in.post("/api/auth/logout", headers={"X-CSRFToken": signed_in.csrf})
    assert response.status_code == 200
    assert session_keys(redis_url) == []
    assert signed_in.get("/api/auth/me").status_code == 401


def test_personal_token_works_as_bearer_without_a_session_and_can_be_revoked(signed_in, app, redis_url):
    created = signed_in.post("/api/auth/tokens", json={"name": "nightly script", "expires_in_days": 30},
                             headers={"X-CSRFToken": signed_in.csrf})
    assert created.status_code == 201
    raw = created.get_json()["token"]
    assert raw.startswith("aip_")
    listed = signed_in.get("/api/auth/tokens").get_json()["tokens"]
    assert listed[0]["name"] == "nightly script" and "token" not in listed[0]

    script = app.test_client()
    me = script.get("/api/auth/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.get_json()["auth"] == "token"
    assert "Set-Cookie" not in me.headers
    # Bearer requests need no CSRF token, but a token may not mint another (tests/security/test_tokens.py).
    second = script.post("/api/auth/tokens", json={"name": "another"}, headers={"Authorization": f"Bearer {raw}"})
    assert second.status_code == 403 and second.get_json()["error"]["code"] == "token_not_allowed"

    revoked = signed_in.delete(f"/api/auth/tokens/{created.get_json()['id']}", headers={"X-CSRFToken": signed_in.csrf})
    assert revoked.status_code == 200 and revoked.get_json()["revoked"] is True
    assert script.get("/api/auth/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert script.get("/api/auth/me", headers={"Authorization": "Bearer aip_madeup"}).status_code == 401


def test_tokens_are_stored_hashed(signed_in, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ApiToken

    raw = signed_in.post("/api/auth/tokens", json={"name": "x"}, headers={"X-CSRFToken": signed_in.csrf}).get_json()["token"]
    with app.app_context():
        stored = db.session.scalars(select(ApiToken)).one()
        assert raw not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64


def test_another_users_token_answers_404(app, make_user):
    make_user("ann@example.com")
    make_user("bob@example.com")
    ann, bob = app.test_client(), app.test_client()
    login(ann, "ann@example.com")
    token_id = ann.post("/api/auth/tokens", json={"name": "ann's"}, headers={"X-CSRFToken": csrf_token(ann)}).get_json()["id"]
    login(bob, "bob@example.com")
    response = bob.delete(f"/api/auth/tokens/{token_id}", headers={"X-CSRFToken": csrf_token(bob)})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_admin_routes_check_the_role(app, make_user):
    make_user("boss@example.com", role="admin")
    make_user("ann@example.com")
    ann, boss = app.test_client(), app.test_client()
    login(ann, "ann@example.com")
    login(boss, "boss@example.com")
    assert ann.get("/api/admin/users").status_code == 403
    assert boss.get("/api/admin/users").status_code == 200
    created = boss.post("/api/admin/users", json={"email": "cat@example.com", "password": PASSWORD, "role": "reviewer"},
                        headers={"X-CSRFToken": csrf_token(boss)})
    assert created.status_code == 201 and created.get_json()["user"]["role"] == "reviewer"
    dup = boss.post("/api/admin/users", json={"email": "CAT@example.com", "password": PASSWORD},
                    headers={"X-CSRFToken": csrf_token(boss)})
    assert dup.status_code == 409


def test_password_change_ends_other_sessions_and_tokens(app, make_user):
    make_user("ann@example.com")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "ann@example.com")
    login(phone, "ann@example.com")
    raw = laptop.post("/api/auth/tokens", json={"name": "t"}, headers={"X-CSRFToken": csrf_token(laptop)}).get_json()["token"]
    changed = laptop.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
                          headers={"X-CSRFToken": csrf_token(laptop)})
    assert changed.status_code == 200
    assert laptop.get("/api/auth/me").status_code == 200
    assert phone.get("/api/auth/me").status_code == 401
    assert app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_cli_creates_users(runner, app):
    result = runner.invoke(args=["users", "create", "ops@example.com", "--password", PASSWORD, "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert "created admin ops@example.com" in result.output
    duplicate = runner.invoke(args=["users", "create", "ops@example.com", "--password", PASSWORD])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    client = app.test_client()
    assert login(client, "ops@example.com").status_code == 200


def test_bad_json_and_unknown_routes_answer_json_errors_with_request_id(signed_in):
    bad = signed_in.post("/api/auth/tokens", data="{not json", content_type="application/json",
                         headers={"X-CSRFToken": signed_in.csrf, "X-Request-ID": "trace-123"})
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "invalid_json"
    assert bad.headers["X-Request-ID"] == "trace-123"
    assert bad.get_json()["error"]["request_id"] == "trace-123"
    missing = signed_in.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert len(missing.headers["X-Request-ID"]) == 32
    wrong_method = signed_in.put("/api/auth/me", headers={"X-CSRFToken": signed_in.csrf})
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"]["code"] == "method_not_allowed"
    hostile = signed_in.get("/api/auth/me", headers={"X-Request-ID": "<script>"})
    assert hostile.headers["X-Request-ID"] != "<script>"
