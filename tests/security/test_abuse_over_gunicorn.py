"""The sign-in throttle and anonymous sessions through real gunicorn workers (two gevent workers,
PROXY_COUNT=1, addresses from X-Forwarded-For): the counts are shared by the workers in Redis, the
owner still signs in, and anonymous CSRF requests leave no session in Redis."""
import pytest
import redis as redis_lib
import requests

from tests.conftest import PASSWORD
from tests.support.processes import Gunicorn, process_env

OWNER = "ann@example.com"


@pytest.fixture
def web(app, database_url, redis_url, tmp_path, make_user):
    make_user(OWNER)
    server = Gunicorn(process_env(database_url, redis_url, str(tmp_path / "storage"), PROXY_COUNT="1"), workers=2,
                      log_path=tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def sign_in(url, address, password):
    with requests.Session() as browser:
        token = browser.get(f"{url}/api/auth/csrf", timeout=10).json()["csrf_token"]
        return browser.post(f"{url}/api/auth/login", json={"email": OWNER, "password": password}, timeout=10,
                            headers={"X-CSRFToken": token, "X-Forwarded-For": address})


def test_guessing_over_workers_is_refused_and_the_owner_still_gets_in(web, app, redis_url):
    statuses = [sign_in(web.url, "203.0.113.9", f"wrong guess {i}").status_code for i in range(21)]
    assert statuses.count(401) == app.config["LOGIN_SLOWDOWN_AFTER"] - 1 and statuses[-1] == 429
    refused = sign_in(web.url, "203.0.113.9", PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert sign_in(web.url, "198.51.100.7", PASSWORD).status_code == 200
    sessions = redis_lib.Redis.from_url(redis_url).keys(app.config["SESSION_KEY_PREFIX"] + "*")
    assert len(sessions) == 1  # the owner's; none of the 23 anonymous visits left one


def test_anonymous_csrf_requests_create_no_session_over_gunicorn(web, app, redis_url):
    for _ in range(300):
        assert requests.get(f"{web.url}/api/auth/csrf", timeout=10).status_code == 200
    assert redis_lib.Redis.from_url(redis_url).keys(app.config["SESSION_KEY_PREFIX"] + "*") == []
