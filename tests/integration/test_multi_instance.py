"""Two gunicorn instances (4 gevent workers each) sharing one Redis and one database: the failure
that sank the first deployment (sessions in one process's memory) must be impossible here."""
import os
import signal
import threading
import time

import pytest
import requests

from tests.conftest import PASSWORD
from tests.support.processes import Gunicorn, process_env

pytestmark = pytest.mark.slow


@pytest.fixture
def two_instances(app, make_user, database_url, redis_url, tmp_path):
    env = process_env(database_url, redis_url, str(tmp_path / "storage"))
    instances = [Gunicorn(env, workers=4, log_path=tmp_path / f"gunicorn-{i}.log") for i in range(2)]
    try:
        for instance in instances:
            instance.wait_ready()
        yield instances
    finally:
        for instance in instances:
            instance.stop()


def sign_in(session: requests.Session, base: str, email: str, password: str = PASSWORD) -> requests.Response:
    token = session.get(f"{base}/api/auth/csrf", timeout=5).json()["csrf_token"]
    return session.post(f"{base}/api/auth/login", json={"email": email, "password": password},
                        headers={"X-CSRFToken": token}, timeout=10)


def test_one_session_seen_by_every_worker_of_both_instances(two_instances, make_user):
    make_user("ann@example.com")
    a, b = two_instances
    browser = requests.Session()
    signed = sign_in(browser, a.url, "ann@example.com")
    assert signed.status_code == 200
    csrf = signed.json()["csrf_token"]

    seen = []
    for i in range(100):
        base = (a, b)[i % 2].url
        # A fresh connection each time, so gunicorn hands requests to different worker processes.
        response = browser.get(f"{base}/api/auth/me", headers={"Connection": "close"}, timeout=5)
        assert response.status_code == 200, (i, response.text)
        seen.append((response.json()["user"]["email"], response.json()["signed_in_at"]))
    assert len(set(seen)) == 1 and seen[0][0] == "ann@example.com"

    # A state change through instance B (needs the session's CSRF token) works with A's sign-in.
    made = browser.post(f"{b.url}/api/auth/tokens", json={"name": "from B"}, headers={"X-CSRFToken": csrf}, timeout=5)
    assert made.status_code == 201

    out = browser.post(f"{b.url}/api/auth/logout", headers={"X-CSRFToken": csrf}, timeout=5)
    assert out.status_code == 200
    for base in (a.url, b.url) * 4:
        assert browser.get(f"{base}/api/auth/me", headers={"Connection": "close"}, timeout=5).status_code == 401


def test_killing_a_worker_mid_run_loses_only_its_own_requests(two_instances, make_user):
    make_user("ann@example.com")
    a, _ = two_instances
    browser = requests.Session()
    assert sign_in(browser, a.url, "ann@example.com").status_code == 200
    cookies = browser.cookies.get_dict()

    results: list[tuple[float, int | str]] = []
    lock = threading.Lock()
    victim = a.worker_pids()[0]
    killed_at: list[float] = []

    def load(n: int):
        for _ in range(n):
            started = time.monotonic()
            try:
                status = requests.get(f"{a.url}/api/auth/me", cookies=cookies, headers={"Connection": "close"}, timeout=10).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            with lock:
                results.append((started, status))

    threads = [threading.Thread(target=load, args=(60,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    os.kill(victim, signal.SIGKILL)
    killed_at.append(time.monotonic())
    for thread in threads:
        thread.join()

    failures = [(t, s) for t, s in results if s != 200]
    # Only requests already in flight on the killed process may fail (at most one per load thread).
    assert len(failures) <= 4, failures
    assert all(t <= killed_at[0] for t, _ in failures), failures
    assert len(results) == 240
    after = [s for t, s in results if t > killed_at[0] + 0.05]
    assert after and all(s == 200 for s in after)
    assert victim not in a.worker_pids()


def test_failed_sign_ins_are_counted_across_workers_and_instances(two_instances, make_user):
    make_user("ann@example.com")
    a, b = two_instances
    statuses = []
    for i in range(20):
        base = (a, b)[i % 2].url
        # A new client each time: another browser, so no shared cookie, just the same account.
        statuses.append(sign_in(requests.Session(), base, "ann@example.com", password=f"wrong guess {i}").status_code)
    # One address (127.0.0.1): four failures answer 401, the fifth starts the account's required wait,
    # and this address, having failed, waits it out on every worker of both instances.
    assert statuses[:4] == [401] * 4 and set(statuses[4:]) == {429}
    for base in (a.url, b.url):
        blocked = sign_in(requests.Session(), base, "ann@example.com")
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) >= 1
        assert blocked.json()["error"]["code"] == "too_many_attempts"
