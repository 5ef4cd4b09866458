"""Sign-in throttling that cannot be turned against the owner: failures are counted per (account,
address), per address and per account in Redis (shared by every worker); the per-account count only
slows guessing down and never refuses a right password from an address with no failures. Addresses
come from X-Forwarded-For behind PROXY_COUNT=1, as on Elastic Beanstalk."""
import time

import pytest
import redis as redis_lib
from hypothesis import HealthCheck, given, settings, strategies as st
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from app import create_app
from app.auth.throttle import SignInThrottle, ThrottlePolicy
from limits import parse
from tests.conftest import PASSWORD, _clean, app_config, csrf_token, login

OWNER = "ann@example.com"


@pytest.fixture
def proxied(app, database_url, redis_url, tmp_path):
    """An app behind one proxy: the client address is the last X-Forwarded-For entry."""
    application = create_app(app_config(database_url, redis_url, tmp_path, PROXY_COUNT=1))
    yield application
    _clean(application, redis_url)


def sign_in(client, address, password, email=OWNER):
    return client.post("/api/auth/login", json={"email": email, "password": password},
                       headers={"X-CSRFToken": csrf_token(client), "X-Forwarded-For": address})


def test_21_wrong_passwords_from_one_address_do_not_stop_the_owner_from_another(proxied, make_user):
    make_user(OWNER)
    attacker = proxied.test_client()
    statuses = [sign_in(attacker, "203.0.113.9", f"wrong guess {i}").status_code for i in range(21)]
    assert set(statuses) == {401, 429} and statuses[-1] == 429
    owner = proxied.test_client()
    response = sign_in(owner, "198.51.100.7", PASSWORD)
    assert response.status_code == 200, response.get_json()
    assert owner.get("/api/auth/me").get_json()["user"]["email"] == OWNER


def test_guessing_from_one_address_is_refused_with_429(proxied, make_user):
    proxied.config["LOGIN_SLOWDOWN_AFTER"] = 1000  # the per-(account, address) limit alone
    make_user(OWNER)
    attacker = proxied.test_client()
    statuses = [sign_in(attacker, "203.0.113.9", f"wrong guess {i}").status_code for i in range(10)]
    assert statuses == [401] * 10
    refused = sign_in(attacker, "203.0.113.9", PASSWORD)  # even the right password, from there
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= 900
    assert sign_in(proxied.test_client(), "198.51.100.7", PASSWORD).status_code == 200


def test_guessing_one_account_from_many_addresses_is_slowed(proxied, make_user):
    make_user(OWNER)
    attacker = proxied.test_client()
    answers = [sign_in(attacker, f"203.0.113.{i}", f"wrong guess {i}") for i in range(1, 13)]
    assert [a.status_code for a in answers[:4]] == [401] * 4
    slowed = answers[4:]
    assert all(a.status_code == 429 for a in slowed)
    waits = [int(a.headers["Retry-After"]) for a in slowed]
    assert waits == sorted(waits) and waits[-1] >= 64  # doubling per failure: 1, 2, 4 … 128
    # An address that has failed waits out the account's delay, even with the right password …
    assert sign_in(attacker, "203.0.113.1", PASSWORD).status_code == 429
    # … a fresh address guessing wrong is slowed too …
    assert sign_in(attacker, "203.0.113.200", "another guess").status_code == 429
    # … and the owner, from an address with no failures, gets in.
    assert sign_in(proxied.test_client(), "198.51.100.7", PASSWORD).status_code == 200


def test_the_slowdown_is_a_delay_not_a_lockout(proxied, make_user):
    proxied.config["LOGIN_SLOWDOWN_MAX_SECONDS"] = 1
    make_user(OWNER)
    client = proxied.test_client()
    for i in range(8):
        sign_in(client, "203.0.113.5", f"typo {i}")
    assert sign_in(client, "203.0.113.5", PASSWORD).status_code == 429
    time.sleep(1.2)
    assert sign_in(client, "203.0.113.5", PASSWORD).status_code == 200


def test_counts_are_shared_by_every_worker(app, proxied, make_user):
    """Two app instances (as two gunicorn workers) see one count in Redis."""
    proxied.config["LOGIN_SLOWDOWN_AFTER"] = app.config["LOGIN_SLOWDOWN_AFTER"] = 1000
    other = create_app({**proxied.config})
    make_user(OWNER)
    for i in range(10):
        worker = proxied if i % 2 else other
        assert sign_in(worker.test_client(), "203.0.113.9", f"guess {i}").status_code == 401
    assert sign_in(proxied.test_client(), "203.0.113.9", PASSWORD).status_code == 429


def test_the_current_password_check_is_throttled_like_a_sign_in(proxied, make_user):
    make_user(OWNER)
    client = proxied.test_client()
    assert sign_in(client, "198.51.100.7", PASSWORD).status_code == 200
    token = csrf_token(client)
    answers = [client.post("/api/auth/password", json={"current_password": f"guess {i}", "new_password": "a brand new passphrase"},
                           headers={"X-CSRFToken": token, "X-Forwarded-For": "198.51.100.7"}) for i in range(8)]
    assert [a.status_code for a in answers[:4]] == [403] * 4
    assert all(a.status_code == 429 and "Retry-After" in a.headers for a in answers[4:])
    # Refused while slowed, even with the right current password, from the address that guessed.
    right = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
                        headers={"X-CSRFToken": token, "X-Forwarded-For": "198.51.100.7"})
    assert right.status_code == 429
    assert login(proxied.test_client(), OWNER).status_code == 200  # the password did not change


def test_a_missing_current_password_counts_as_wrong(signed_in):
    response = signed_in.post("/api/auth/password", json={"new_password": "a brand new passphrase"},
                              headers={"X-CSRFToken": signed_in.csrf})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "wrong_password"


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=0, max_value=200))
def test_the_account_delay_grows_and_is_capped(slow_after, failures):
    policy = ThrottlePolicy(parse("10/minute"), parse("100/minute"), slow_after, 300)
    delay = policy.delay_after(failures)
    assert 0 <= delay <= 300
    assert (delay == 0) == (failures < slow_after)
    assert policy.delay_after(failures + 1) >= delay


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["ann@example.com", "bob@example.com"])), max_size=60))
def test_no_pattern_of_failures_refuses_a_clean_address(redis_url, failures):
    """Whatever mix of failures any addresses pile up on any accounts (real Redis), the owner's check
    from an address with none is never refused: the password is always looked at."""
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    throttle = SignInThrottle(
        client, MovingWindowRateLimiter(RedisStorage(redis_url, key_prefix="ai-prism:limits")),
        ThrottlePolicy(parse("10/15 minutes"), parse("100/15 minutes"), 3, 300),
    )
    for address, email in failures:
        throttle.record_failure(email, f"203.0.113.{address}")
    assert throttle.check(OWNER, "198.51.100.7").refuse_for is None
    if any(email == OWNER for _, email in failures):
        used = next(f"203.0.113.{a}" for a, e in failures if e == OWNER)
        verdict = throttle.check(OWNER, used)
        assert (verdict.refuse_for is not None) == (throttle.account_wait(OWNER) > 0 or
                                                     sum(1 for a, e in failures if f"203.0.113.{a}" == used and e == OWNER) >= 10)
