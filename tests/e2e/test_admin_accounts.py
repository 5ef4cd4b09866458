"""The admin page's account controls in a real browser against gunicorn: disable and enable a user,
reset a password; the user's own browser session ends at once."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_pages import sign_in

pytestmark = pytest.mark.slow
USER = ("tess@example.com", "her first long password")


def test_admin_disables_enables_and_resets_a_user(new_page, stack):
    admin, errors = new_page()
    sign_in(admin, stack.url)
    admin.get_by_role("link", name="Admin").click()
    admin.get_by_label("Email").fill(USER[0])
    admin.get_by_label("Password (10+ characters)").fill(USER[1])
    admin.get_by_role("button", name="Add user").click()
    row = admin.locator("#users-table tbody tr", has_text=USER[0])
    expect(row).to_contain_text("active")

    user, _ = new_page()
    sign_in(user, stack.url, *USER)

    admin.evaluate("window.confirm = () => true")  # the page asks before disabling
    row.get_by_role("button", name=f"Disable {USER[0]}").click()
    expect(row).to_contain_text("disabled")
    user.reload()
    expect(user).to_have_url(re.compile("/login"))
    user.get_by_label("Email").fill(USER[0])
    user.get_by_label("Password").fill(USER[1])
    user.get_by_role("button", name="Sign in").click()
    expect(user.locator("#form-error")).to_contain_text("disabled by an administrator")

    row.get_by_role("button", name=f"Enable {USER[0]}").click()
    expect(row).to_contain_text("active")
    sign_in(user, stack.url, *USER)

    admin.get_by_label("User", exact=True).select_option(label=USER[0])
    admin.get_by_label("New password for that user").fill("her second long password")
    admin.get_by_role("button", name="Reset password").click()
    expect(admin.locator("#reset-done")).to_contain_text(f"Password reset for {USER[0]}")
    user.reload()
    expect(user).to_have_url(re.compile("/login"))
    sign_in(user, stack.url, USER[0], "her second long password")
    assert not [e for e in errors if "Failed to load resource" not in e], errors
