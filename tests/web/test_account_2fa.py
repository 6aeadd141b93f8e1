"""Two-factor set-up and log-in through the real pages in Chromium, with screenshots of
the account page and the 2FA pages; the forgotten-password page."""

from __future__ import annotations

import time

import pyotp

from tests.web.conftest import new_web_user, register, shot


def test_twofactor_setup_and_login_in_browser(page, new_context, server):
    if time.time() % 30 > 20:  # the codes below stay in one window
        time.sleep(30 - time.time() % 30 + 0.2)
    user = new_web_user()
    register(page, user)
    page.goto("/account")
    assert page.locator("#account-2fa").inner_text().startswith("off")
    assert page.locator("#plan-quota").inner_text().endswith("GiB")  # the free plan's
    shot(page, "account-full")

    page.get_by_role("link", name="Set up two-factor authentication").click()
    page.wait_for_url("**/account/2fa")
    page.get_by_role("button", name="Set up two-factor authentication").click()
    page.wait_for_url("**/account/2fa")
    secret = page.locator("#totp-secret").inner_text()
    assert page.locator(".qr svg title").text_content() == "QR code for your authenticator app"
    shot(page, "account-2fa-setup")
    totp = pyotp.TOTP(secret)

    page.get_by_label("The 6-digit code the app shows now").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    assert "This code is wrong" in page.get_by_role("alert").inner_text()
    page.get_by_label("The 6-digit code the app shows now").fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    assert page.get_by_role("status").inner_text() == "Two-factor authentication is on."
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    shot(page, "account-2fa-codes")
    page.get_by_role("link", name="I have kept them").click()
    page.wait_for_url("**/account")
    assert "10 recovery codes left" in page.locator("#account-2fa").inner_text()

    # Log in from another browser: password, then the code.
    other = new_context().new_page()
    other.goto("/login")
    other.get_by_label("E-mail").fill(user.email)
    other.get_by_label("Password").fill(user.password)
    other.get_by_role("button", name="Log in").click()
    other.wait_for_url("**/login/2fa")
    assert other.get_by_role("link", name="My files").count() == 0  # not logged in yet
    shot(other, "login-2fa")
    other.get_by_label("Code").fill("111111")
    other.get_by_role("button", name="Verify").click()
    assert "wrong or was used already" in other.get_by_role("alert").inner_text()
    other.get_by_label("Code").fill(totp.at(time.time() + 30))
    other.get_by_role("button", name="Verify").click()
    other.wait_for_url("**/files")
    assert other.get_by_role("link", name=user.email).is_visible()

    # Turning it off from the 2FA page.
    page.goto("/account/2fa")
    shot(page, "account-2fa-on")
    page.get_by_label("Current password").last.fill(user.password)
    page.get_by_label("Code or recovery code").fill(codes[0])
    page.get_by_role("button", name="Turn off").click()
    page.wait_for_url("**/account?done=2fa-off")
    assert page.locator("#account-2fa").inner_text().startswith("off")


def test_forgot_password_page(page, server):
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url("**/password/forgot")
    page.get_by_label("E-mail").fill("someone@example.org")
    page.get_by_role("button", name="Send the link").click()
    assert "If an account uses someone@example.org" in page.get_by_role("status").inner_text()
    shot(page, "password-forgot-sent")
