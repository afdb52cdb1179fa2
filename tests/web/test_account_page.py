"""The person's own account page: reachable from the header for everyone signed in, where they
choose the language of their e-mails, recorded on their account as the API records it."""

from __future__ import annotations

from domain.user import User
from tests.http_harness import Story, tenant_with_team
from tests.web.conftest import signed_in_browser


async def test_a_signed_in_person_chooses_english_e_mails_on_their_account_page(site: Story) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    email = team.emails["first"]
    browser = await signed_in_browser(site.client, email, language="da")
    home = await browser.get(f"/t/{team.tenant_id}")
    assert 'href="/account" id="account-link"' in home
    page = await browser.get("/account")
    assert "<h1>Din konto</h1>" in page
    assert 'id="f-language-da" name="language" value="da"\n      checked' in page

    answer = await browser.post("/account", {"language": "en"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/account?saved=1"
    saved = await browser.get("/account?saved=1")
    assert "Dit valg er gemt." in saved
    assert 'id="f-language-en" name="language" value="en"\n      checked' in saved
    user = await site.container.offloop(site.container.control.user, User.create_id(email))
    assert user.language == "en"
    # The API reads the same choice.
    team.first.base = ""
    assert await team.first.get("/api/v1/me/language") == {"language": "en"}


async def test_a_language_other_than_danish_or_english_is_marked_at_its_field(site: Story) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    browser = await signed_in_browser(site.client, team.emails["manager"], language="da")
    answer = await browser.post("/account", {"language": "de"})
    assert answer.status_code == 400
    assert 'id="f-language-error">Vælg dansk eller engelsk.</p>' in answer.text
    user = await site.container.offloop(site.container.control.user, User.create_id(team.emails["manager"]))
    assert user.language == "da"
