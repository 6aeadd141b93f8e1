"""An administrator suspends a user from /admin/users in Chromium; the user is out at once."""

from __future__ import annotations

from tests.admin.conftest import make_admin
from tests.serverproc import Server
from tests.web.conftest import WebUser, login, new_web_user, register, shot


def test_admin_suspends_a_user(server: Server, new_context) -> None:
    person = new_web_user()
    user_page = new_context().new_page()
    register(user_page, person)

    admin = make_admin(server)
    page = new_context().new_page()
    login(page, WebUser(admin.email, admin.password))
    page.get_by_role("link", name="Admin", exact=True).click()
    page.wait_for_url("**/admin")
    assert page.locator("#fig-users").inner_text().isdigit()
    shot(page, "admin-overview")

    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_label("E-mail contains").fill(person.email)
    page.get_by_role("button", name="Search").click()
    row = page.locator(f'tr[data-email="{person.email}"]')
    assert row.count() == 1
    shot(page, "admin-users")
    row.get_by_label(f"Reason for suspending {person.email}").fill("Spam links")
    row.get_by_role("button", name=f"Suspend {person.email}").click()
    page.wait_for_url("**done=suspended")
    assert "suspended" in page.locator("#admin-notice").inner_text()
    assert row.locator(".admin-suspended").count() == 1
    shot(page, "admin-users-suspended")

    # the user's open session is over, and logging in again is refused with the reason
    user_page.goto("/files")
    user_page.wait_for_url("**/login?next=*")
    user_page.get_by_label("E-mail").fill(person.email)
    user_page.get_by_label("Password").fill(person.password)
    user_page.get_by_role("button", name="Log in").click()
    assert "suspended" in user_page.locator("#login-error").inner_text()

    page.get_by_role("button", name=f"Unsuspend {person.email}").click()
    page.wait_for_url("**done=unsuspended")
    login(user_page, person)
    admin.api.close()
