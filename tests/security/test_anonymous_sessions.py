"""No server-side session for anonymous visitors: the CSRF secret of someone not signed in lives in a
signed cookie, so a flood of anonymous GET /api/auth/csrf creates no Redis keys. Every CSRF protection
still holds (tests/security/test_csrf_and_headers.py), and a signed-in session lives in Redis only."""
import redis as redis_lib
from itsdangerous import URLSafeTimedSerializer
from flask.json.tag import TaggedJSONSerializer

from tests.conftest import PASSWORD, csrf_token, login


def session_keys(app, redis_url):
    return redis_lib.Redis.from_url(redis_url).keys(app.config["SESSION_KEY_PREFIX"] + "*")


def test_a_thousand_anonymous_csrf_requests_create_no_server_side_session(app, redis_url):
    tokens = set()
    for _ in range(1000):
        client = app.test_client()  # a new visitor each time, as a script without a cookie jar is
        response = client.get("/api/auth/csrf")
        assert response.status_code == 200
        tokens.add(response.get_json()["csrf_token"])
    assert session_keys(app, redis_url) == []
    assert len(tokens) == 1000


def test_the_anonymous_token_signs_in_and_the_session_then_lives_in_redis(app, make_user, redis_url):
    make_user("ann@example.com")
    client = app.test_client()
    token = csrf_token(client)
    anonymous = client.get_cookie("ai-prism").value
    assert anonymous.startswith("anon.")
    response = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD}, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    sid = client.get_cookie("ai-prism").value
    assert not sid.startswith("anon.")
    assert [k.decode() for k in session_keys(app, redis_url)] == [app.config["SESSION_KEY_PREFIX"] + sid]
    assert client.post("/api/auth/logout", headers={"X-CSRFToken": response.get_json()["csrf_token"]}).status_code == 200
    assert session_keys(app, redis_url) == []


def test_one_visitors_token_does_not_pass_with_another_visitors_cookie(app, make_user):
    make_user("ann@example.com")
    alice, mallory = app.test_client(), app.test_client()
    csrf_token(alice)
    mallorys_token = csrf_token(mallory)
    response = alice.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD},
                          headers={"X-CSRFToken": mallorys_token})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"


def test_a_tampered_or_foreign_anonymous_cookie_is_a_fresh_anonymous_session(app, make_user):
    make_user("ann@example.com")
    client = app.test_client()
    token = csrf_token(client)
    value = client.get_cookie("ai-prism").value
    client.set_cookie("ai-prism", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    refused = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD}, headers={"X-CSRFToken": token})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    # A cookie that claims a user, signed with some other key, names nobody.
    forged = URLSafeTimedSerializer("not-our-key", salt="ai-prism-anonymous-session",
                                    serializer=TaggedJSONSerializer()).dumps({"_user_id": "1:1", "_fresh": True})
    intruder = app.test_client()
    intruder.set_cookie("ai-prism", "anon." + forged)
    assert intruder.get("/api/auth/me").status_code == 401


def test_a_cookie_claiming_a_user_is_refused_even_when_signed_with_our_key(app, make_user):
    """Only Redis sessions may name a user: an anonymous cookie never carries one."""
    make_user("ann@example.com")
    forged = URLSafeTimedSerializer(app.secret_key, salt="ai-prism-anonymous-session",
                                    serializer=TaggedJSONSerializer()).dumps({"_user_id": "1:1", "_fresh": True})
    intruder = app.test_client()
    intruder.set_cookie("ai-prism", "anon." + forged)
    assert intruder.get("/api/auth/me").status_code == 401


def test_the_login_page_sets_no_server_side_session(app, redis_url):
    client = app.test_client()
    for url in ("/login", "/setup", "/api/auth/setup", "/api/auth/me"):
        client.get(url)
    assert session_keys(app, redis_url) == []
    assert login(client, "nobody@example.com").status_code == 401
    assert session_keys(app, redis_url) == []
