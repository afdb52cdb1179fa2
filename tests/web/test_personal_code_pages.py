"""Personal codes on the facilitator console, as a browser uses them: a unit's people counted,
the sheet of slips printed once (Danish first, English beside), slips revoked by number or all at
once, and progress as "rated of people" on the console and the board, never who."""

from __future__ import annotations

import re
from typing import Any

from tests.http_harness import ADMIN, Story, flat
from tests.integration.test_join_codes_api import join
from tests.web.conftest import Browser, Engagement, prepared, signed_in_browser

CODE = re.compile(r'<p class="join-code">([0-9A-Z]{5}-[0-9A-Z]{5})</p>')


async def one_by_one(site: Story, **settings: Any) -> Engagement:
    engagement = await prepared(
        Engagement,
        site,
        "Søby Kommune",
        "Udskrivning",
        ("Visitationen", "Hjemmeplejen"),
        **{"rating_mode": "individual", "min_group_size": 2, **settings},
    )
    await engagement.advance("prepared", "theme_day_open")
    return engagement


def console_of(engagement: Engagement) -> str:
    return f"/t/{engagement.tenant_id}/e/{engagement.engagement_id}/console"


def personal_codes_of(engagement: Engagement, unit: str) -> str:
    return f"{console_of(engagement)}/units/{engagement.units[unit]}/personal-codes"


async def issue(browser: Browser, engagement: Engagement, unit: str, people: str) -> Any:
    return await browser.post(personal_codes_of(engagement, unit), {"people": people})


async def test_the_console_issues_a_sheet_of_slips_once_in_danish_and_counts_who_has_rated(
    site: Story,
) -> None:
    engagement = await one_by_one(site)
    browser = await signed_in_browser(site.client, ADMIN)
    console = await browser.get(console_of(engagement))
    assert "Personlige koder" in console
    assert "et bords deltagerkode tæller som én person" in console

    sheet = await issue(browser, engagement, "Visitationen", "3")
    assert sheet.status_code == 200, sheet.text[:2000]
    assert sheet.headers["cache-control"] == "no-store"
    codes = CODE.findall(sheet.text)
    assert len(set(codes)) == 3
    assert sheet.text.count("<svg") == 3
    assert [f"Seddel {n}" in sheet.text for n in (1, 2, 3)] == [True, True, True]
    assert "Personlige koder til Visitationen" in sheet.text
    assert "Din personlige kode" in sheet.text
    assert "/join" in sheet.text

    console = await browser.get(console_of(engagement))
    assert all(code not in console for code in codes)  # only digests are kept
    assert "0 af 3 har vurderet" in console

    # One person rates with their slip; the console counts them, never naming which slip.
    person = await join(site, codes[1], base=engagement.admin.base)
    visit, home = engagement.units["Visitationen"], engagement.units["Hjemmeplejen"]
    await engagement.admin.put(f"{engagement.api}/units/{visit}/relations", {"counterpart_ids": [home]})
    await person.post(
        f"{engagement.api}/ratings", {"unit_id": visit, "counterpart_id": home, "scores": flat(3)}
    )
    progress = await browser.get(f"{console_of(engagement)}/progress")
    assert "1 af 3 har vurderet" in progress
    board = await browser.get(f"/t/{engagement.tenant_id}/e/{engagement.engagement_id}/board/live")
    assert "1 af 3 har vurderet" in board

    browser.speak("en")
    console = await browser.get(console_of(engagement))
    assert "Personal codes" in console
    assert "1 of 3 rated" in console
    more = await issue(browser, engagement, "Visitationen", "2")
    assert "Slip 4" in more.text
    assert "Slip 5" in more.text
    assert "Visitationen now has codes for 5 people." in more.text
    assert "Your personal code" in more.text


async def test_slips_are_revoked_by_number_or_all_at_once(site: Story) -> None:
    engagement = await one_by_one(site)
    browser = await signed_in_browser(site.client, ADMIN, language="en")
    codes = CODE.findall((await issue(browser, engagement, "Hjemmeplejen", "3")).text)
    api = f"{engagement.api}/units/{engagement.units['Hjemmeplejen']}/personal-codes"

    revoked = await browser.post(
        f"{personal_codes_of(engagement, 'Hjemmeplejen')}/revoke-slip", {"slip": "2"}
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"].endswith("/console#personal-codes")
    counted = await engagement.admin.get(api)
    assert (counted["people"], counted["revoked_slips"]) == (2, [2])
    assert (await site.client.post("/api/v1/join", json={"code": codes[1]})).status_code == 401
    assert "2 of 3 rated" not in await browser.get(console_of(engagement))
    assert "0 of 2 rated" in await browser.get(console_of(engagement))

    unknown = await browser.post(
        f"{personal_codes_of(engagement, 'Hjemmeplejen')}/revoke-slip", {"slip": "7"}
    )
    assert unknown.status_code == 409  # a rule of the method refused the form, as on every page
    assert "There is no slip number 7 for this unit." in unknown.text
    home = engagement.units["Hjemmeplejen"]
    assert f'id="slip-{home}" name="slip"' in unknown.text
    assert f'aria-describedby="slip-{home}-error"' in unknown.text
    blank = await browser.post(f"{personal_codes_of(engagement, 'Hjemmeplejen')}/revoke-slip", {"slip": ""})
    assert blank.status_code == 400
    assert "Give the number printed on the slip." in blank.text

    everything = await browser.post(f"{personal_codes_of(engagement, 'Hjemmeplejen')}/revoke", {})
    assert everything.status_code == 303
    assert (await engagement.admin.get(api))["people"] == 0
    assert (await site.client.post("/api/v1/join", json={"code": codes[0]})).status_code == 401


async def test_wrong_counts_and_units_that_rate_together_are_refused_and_record_nothing(site: Story) -> None:
    engagement = await one_by_one(site)
    browser = await signed_in_browser(site.client, ADMIN)
    api = f"{engagement.api}/units/{engagement.units['Visitationen']}/personal-codes"
    for wrong in ("0", "201", "tre", "", "٣"):
        refused = await issue(browser, engagement, "Visitationen", wrong)
        assert refused.status_code == 400, wrong
        assert "Angiv et antal personer fra 1 til 200." in refused.text
        assert f'aria-describedby="people-{engagement.units["Visitationen"]}-error"' in refused.text
    missing = await engagement.admin.client.get(engagement.admin.base + api, headers=engagement.admin.headers)
    assert missing.status_code == 404

    together = await prepared(Engagement, site, "Nørby Kommune", "Sammen", ("Akutteamet", "Sygeplejen"))
    await together.advance("prepared", "theme_day_open")
    console = await browser.get(console_of(together))
    assert "Personlige koder" not in console
    assert 'id="table-code-counts-once"' not in console
    refused = await issue(browser, together, "Akutteamet", "4")
    assert refused.status_code == 409
    assert "Personlige koder er til forløb, hvor deltagerne vurderer hver for sig." in refused.text
    browser.speak("en")
    refused = await issue(browser, together, "Akutteamet", "4")
    assert "Personal codes are for engagements where participants rate one by one." in refused.text


async def test_a_form_sent_twice_issues_its_slips_once_and_shows_the_same_sheet_again(site: Story) -> None:
    engagement = await one_by_one(site)
    browser = await signed_in_browser(site.client, ADMIN, language="en")
    url = personal_codes_of(engagement, "Visitationen")
    first = await browser.post(url, {"people": "2"}, key="samme-formular")
    assert len(set(CODE.findall(first.text))) == 2
    again = await browser.post(url, {"people": "2"}, key="samme-formular")
    assert again.status_code == 200
    assert CODE.findall(again.text) == CODE.findall(first.text)
    changed = await browser.post(url, {"people": "3"}, key="samme-formular")
    assert changed.status_code == 409
    assert CODE.findall(changed.text) == []
    assert "This form issued codes for 2 people already, not 3." in changed.text
    browser.speak("da")
    changed = await browser.post(url, {"people": "3"}, key="samme-formular")
    assert "Denne formular har allerede udstedt koder til 2 personer, ikke 3." in changed.text
    api = f"{engagement.api}/units/{engagement.units['Visitationen']}/personal-codes"
    assert (await engagement.admin.get(api))["people"] == 2


async def test_the_console_prints_a_units_sheet_again_with_the_same_codes_and_revoked_slips_marked(
    site: Story,
) -> None:
    engagement = await one_by_one(site)
    browser = await signed_in_browser(site.client, ADMIN)
    sheet_url = f"{personal_codes_of(engagement, 'Visitationen')}/sheet"
    assert f'href="{sheet_url}"' not in await browser.get(console_of(engagement))
    missing = await browser.request("GET", sheet_url)
    assert missing.status_code == 409  # the console again, saying why
    assert "Der er ikke udstedt personlige koder til denne enhed." in missing.text

    first = CODE.findall((await issue(browser, engagement, "Visitationen", "2")).text)
    more = CODE.findall((await issue(browser, engagement, "Visitationen", "2")).text)
    revoked = await browser.post(
        f"{personal_codes_of(engagement, 'Visitationen')}/revoke-slip", {"slip": "3"}
    )
    assert revoked.status_code == 303
    console = await browser.get(console_of(engagement))
    assert f'href="{sheet_url}"' in console
    assert "Udskriv sedlerne til Visitationen igen" in console

    again = await browser.request("GET", sheet_url)
    assert again.status_code == 200
    assert again.headers["cache-control"] == "no-store"
    assert CODE.findall(again.text) == [first[0], first[1], more[1]]
    assert [f"Seddel {n}" in again.text for n in (1, 2, 3, 4)] == [True, True, True, True]
    assert again.text.count("Tilbagekaldt: sedlens kode virker ikke længere.") == 1
    assert 'class="join-card personal-slip revoked" data-slip="3"' in again.text
    assert "de samme koder, som da de blev udstedt" in again.text
    browser.speak("en")
    english = await browser.get(sheet_url)
    assert "The sheet printed again: the same codes as when they were issued." in english
    assert english.count("Do not hand it out.") == 1
    # Printing again records nothing: the unit still has its slips, one revoked.
    api = f"{engagement.api}/units/{engagement.units['Visitationen']}/personal-codes"
    counted = await engagement.admin.get(api)
    assert (counted["people"], counted["slips_issued"], counted["revoked_slips"]) == (3, 4, [3])
