"""Changing the password with the keyboard only, at 375 px: errors are announced next to
their field, the change keeps this browser signed in, and nothing scrolls sideways."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MOBILE, log_in, no_horizontal_scroll, tab_to, unlabelled_controls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_change_the_password_with_the_keyboard_at_375px(browser_session, users):
    page = browser_session.page(viewport=MOBILE, is_mobile=True, has_touch=True)
    browser_session.watch.expect_status("/settings/password/", 400)  # the form's field errors
    log_in(page, "acme-viewer", "pw-viewer")
    page.goto("/settings/tokens/")
    # Reached from the account navigation.
    tab_to(page, "a[href='/settings/password/']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change password")
    no_horizontal_scroll(page)
    assert not unlabelled_controls(page)

    # A wrong old password: the message sits at the field, marked invalid.
    tab_to(page, "#id_old_password")
    page.keyboard.type("not-my-password")
    page.keyboard.press("Tab")
    page.keyboard.type("a-much-longer-pass-42")
    tab_to(page, "#id_new_password2")
    page.keyboard.type("a-much-longer-pass-42")
    page.keyboard.press("Enter")
    expect(page.locator("#id_old_password-error")).to_contain_text("old password was entered incorrectly")
    expect(page.locator("#id_old_password")).to_have_attribute("aria-invalid", "true")
    no_horizontal_scroll(page)

    tab_to(page, "#id_old_password")
    page.keyboard.type("pw-viewer")
    page.keyboard.press("Tab")
    page.keyboard.type("a-much-longer-pass-42")
    tab_to(page, "#id_new_password2")
    page.keyboard.type("a-much-longer-pass-42")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your password was changed")
    # Still signed in here.
    expect(page.get_by_role("button", name="Log out acme-viewer")).to_be_visible()
    users["viewer"].refresh_from_db()
    assert users["viewer"].check_password("a-much-longer-pass-42")
    browser_session.assert_clean()
