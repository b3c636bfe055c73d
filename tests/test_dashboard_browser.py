"""The dashboard in a real browser: Debian's chromium driven by Playwright against `streamlit run`.

A tiny finished project (tests/dashboard_project.py: two 6-layer models of width 384 with a
256-token window, so that a text takes long enough to be seen growing and to be stopped midway)
is served on a free 127.0.0.1 port; each test opens its own browser context (its own Streamlit
session) and leaves a full-page screenshot per page in its tmp_path/screenshots (copied to
/tmp/forja_screens/ for a person to look at). Widgets are found by the CSS class Streamlit puts
on the container of every widget with a key (`.st-key-<key>`), never by translated text.

Skipped, loudly, where chromium or playwright is missing: `make browser` installs chromium.
"""
from __future__ import annotations

import re

import browser
import pytest
from dashboard_project import make_project

pytestmark = pytest.mark.slow

REASON = browser.missing_browser()
if REASON:
    pytest.skip(REASON, allow_module_level=True)

from playwright.sync_api import expect, sync_playwright

from dashboard.i18n import TABLE

PAGE_MS = 30_000  # the longest any one wait may take (a model load on a busy CPU included)
WINDOW = 256  # the tiny models' context


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    project = make_project(root / "project", context=WINDOW, dim=384, n_layers=6)
    with browser.streamlit_server(project, root / "streamlit.log", timeout=60) as srv:
        yield srv
        assert srv.proc.poll() is None, f"streamlit died during the tests:\n{srv.log_tail()}"
    assert srv.proc.poll() is not None, "streamlit is still running after stop()"


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as p:
        b = browser.launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(chromium, server, tmp_path):
    """A fresh browser context (a new Streamlit session), English locale, wide window."""
    ctx = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(PAGE_MS)
    pg = ctx.new_page()
    pg.shots = tmp_path / "screenshots"
    pg.base = server.url
    errors: list[str] = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    yield pg
    ctx.close()
    assert not errors, f"javascript errors in the page: {errors}"


def open_page(page, path: str = "") -> None:
    page.goto(f"{page.base}/{path}")
    browser.wait_app_ready(page, PAGE_MS)


def no_exception(page) -> None:
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, f"the page shows an exception: {shown.first.inner_text()[:2000]}"


def title(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def meter_used(page) -> tuple[int, int]:
    """The meter's first two numbers: "Context window: 23 of 256 tokens used (...)"."""
    text = page.locator(browser.key_css("chat_meter")).inner_text()
    figures = re.findall(r"\d+", text)
    assert len(figures) >= 2, f"no 'used of window' figures in the context meter: {text!r}"
    return int(figures[0]), int(figures[1])


def test_language_switch_changes_the_page(page):
    open_page(page)
    no_exception(page)
    assert title(page) == TABLE["home_title"]["en"]
    browser.save_screenshot(page, page.shots, "home-en")

    page.locator(browser.key_css("lang")).get_by_text("Español", exact=True).click()
    expect(page.locator("h1").first).to_have_text(TABLE["home_title"]["es"])
    browser.wait_idle(page, PAGE_MS)
    sidebar = page.locator('[data-testid="stSidebarNav"]')
    expect(sidebar).to_contain_text(TABLE["nav_playground"]["es"])
    browser.save_screenshot(page, page.shots, "home-es")

    page.locator(browser.key_css("lang")).get_by_text("English", exact=True).click()
    expect(page.locator("h1").first).to_have_text(TABLE["home_title"]["en"])
    expect(sidebar).to_contain_text(TABLE["nav_playground"]["en"])


CHART = '[data-testid="stVegaLiteChart"]'


@pytest.mark.parametrize("path, heading, charts", [("training", "tr_title", 3), ("data", "da_title", 2)])
def test_training_and_data_pages_draw_their_charts(page, path, heading, charts):
    """The loss curves, the lr, bits per byte (training); sources and the cleaning funnel (data)."""
    open_page(page, path)
    no_exception(page)
    assert title(page) == TABLE[heading]["en"]
    expect(page.locator(f"{CHART} >> visible=true").nth(charts - 1)).to_be_visible()  # not the other tab's
    expect(page.locator(f"{CHART} canvas, {CHART} svg").first).to_be_visible()  # Vega drew, not just a box
    browser.save_screenshot(page, page.shots, path)


PG_ENDS = {key: TABLE[key]["en"] for key in ("pg_end_limit", "pg_end_stop_token", "pg_end_stopped")}
TOKENS_IN = re.compile(r"(\d+) tokens in ")


def playground_end(page) -> tuple[str, int]:
    """Wait for the figures under a finished (or stopped) text: (which end, tokens made)."""
    stats = page.get_by_text(TOKENS_IN)
    expect(stats).to_be_visible()
    browser.wait_idle(page, PAGE_MS)
    text = stats.inner_text()
    end = next((key for key, words in PG_ENDS.items() if words in text), None)
    assert end, f"the figures name no end of the text: {text!r}"
    return end, int(TOKENS_IN.search(text).group(1))


def test_playground_streams_and_stops(page):
    open_page(page, "playground")
    no_exception(page)
    expect(page.locator("h1").first).to_have_text(TABLE["pg_title"]["en"])
    prompt = page.locator(browser.key_css("pg_prompt")).locator("textarea")
    output = browser.key_css("pg_output")
    generate = page.locator(browser.key_css("pg_generate")).locator("button")
    stop = page.locator(browser.key_css("pg_stop")).locator("button")

    # The most new tokens the page allows, so that a text grows for a while (and Stop lands midway).
    slider = page.locator(browser.key_css("pg_max_new")).locator("input[type=range]")
    slider.press("End")
    browser.wait_idle(page, PAGE_MS)
    assert int(slider.input_value()) > 80, f"the max-new-tokens slider did not move to its end ({slider.input_value()})"

    # A whole generation: the text in the output grows piece by piece.
    prompt.fill("En un lugar de la Mancha")
    prompt.press("Control+Enter")  # commits the text area's value (a rerun) before the click
    browser.wait_idle(page, PAGE_MS)
    browser.watch_text(page, output)
    generate.click()
    end, made = playground_end(page)
    log = browser.watched(page, output)
    assert browser.growth_steps(log) >= 3, f"the output did not grow piece by piece: {log}"
    text = page.locator(output).inner_text()
    assert text.startswith("En un lugar de la Mancha") and len(text) > len("En un lugar de la Mancha"), text
    assert end in ("pg_end_limit", "pg_end_stop_token") and made > 0, (end, made)
    no_exception(page)
    browser.save_screenshot(page, page.shots, "playground")

    # Stop, pressed while tokens arrive: the text ends there, says so, and stops growing.
    # (A generation can end first: a random model draws its end-of-text token about once in 320,
    # and a busy CPU delays the click; then it is tried again with another seed.)
    most = int(slider.input_value())
    seeds = page.locator(browser.key_css("pg_seed")).locator("input[type=number]")
    for attempt in range(10):
        seeds.fill(str(attempt + 1))
        seeds.press("Enter")
        browser.wait_idle(page, PAGE_MS)
        browser.watch_text(page, output)
        generate.click()
        page.wait_for_function("(sel) => ((window.__forjaWatch || {})[sel] || []).length >= 1", arg=output)
        stop.click()
        end, made = playground_end(page)
        if end == "pg_end_stopped":
            break
    assert end == "pg_end_stopped", f"ten generations ended before Stop was pressed ({end})"
    assert made < most, f"stopped, yet all {most} tokens were made"
    stopped = page.locator(output).inner_text()
    page.wait_for_timeout(1000)
    assert page.locator(output).inner_text() == stopped, "the text still grows after Stop"
    no_exception(page)
    expect(generate).to_be_enabled()
    browser.save_screenshot(page, page.shots, "playground-stopped")


def send_chat(page, text: str) -> None:
    box = page.locator(browser.key_css("chat_input")).locator("textarea")
    box.fill(text)
    browser.watch_text(page, browser.key_css("chat_log"))
    box.press("Enter")


def test_chat_two_messages(page):
    open_page(page, "chat")
    no_exception(page)
    expect(page.locator("h1").first).to_have_text(TABLE["chat_title"]["en"])
    log_css = browser.key_css("chat_log")
    messages = page.locator(log_css).locator('[data-testid="stChatMessage"]')
    expect(messages).to_have_count(0)
    # Replies as long as the page allows (half the window), so each one streams for a while.
    page.locator('[data-testid="stExpander"] summary').first.click()
    page.locator(browser.key_css("chat_max_new")).locator("input[type=range]").press("End")
    browser.wait_idle(page, PAGE_MS)
    used = [meter_used(page)]

    for n, text in enumerate(("Hola, ¿cómo estás?", "What is a language model?"), start=1):
        send_chat(page, text)
        expect(page.locator(log_css)).to_contain_text(text)
        # Finished: the reply is redrawn with its figures ("32 tokens · 54.2 tokens/s").
        expect(messages).to_have_count(2 * n)
        expect(messages.nth(2 * n - 1)).to_contain_text(re.compile(r"\d+ tokens · [\d.,]+ tokens/s"))
        browser.wait_idle(page, PAGE_MS)
        reply = messages.nth(2 * n - 1).inner_text().strip()
        assert reply, f"empty reply to message {n}"
        grew = browser.growth_steps(browser.watched(page, log_css))
        assert grew >= 3, f"reply {n} did not stream (the chat log grew {grew} times)"
        assert messages.nth(2 * n - 2).inner_text().strip().endswith(text)  # after the avatar icon's name
        used.append(meter_used(page))
        no_exception(page)
        browser.save_screenshot(page, page.shots, f"chat-{n}")
    windows = {w for _, w in used}
    assert windows == {WINDOW}, f"the meter should show the tiny models' {WINDOW}-token window: {used}"
    (u0, _), (u1, _), (u2, _) = used
    # The meter moves up from the empty conversation, and never past the window (the second
    # turn may already drop the first: half the window is kept for the reply).
    assert u0 < u1 <= WINDOW and u0 < u2 <= WINDOW, f"the context meter did not move: {used}"


LESSONS = ("tokens", "embeddings", "parameters", "attention", "softmax", "context", "fewshot", "stages", "limits")
LESSON_CHARTS = {"tokens": 0, "embeddings": 2, "parameters": 2, "attention": 3, "softmax": 1, "context": 1,
                 "fewshot": 1, "stages": 3, "limits": 1}


def lesson_reading(page) -> str:
    """The sentence under the softmax chart that names the top token and its probability."""
    return page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="%").filter(
        has_text=re.compile(r"(temperature|temperatura) \d")).first.inner_text()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_learn_path_walks_every_lesson(page, lang):
    """Aprende from the first lesson to the last by its own "next" links, in each language: every
    lesson has its title and charts; the attention map and a token's row are drawn; moving the
    temperature slider changes the probabilities. A screenshot per lesson and language."""
    open_page(page, "learn_tokens")
    if lang == "es":
        page.locator(browser.key_css("lang")).get_by_text("Español", exact=True).click()
    expect(page.locator("h1").first).to_have_text(TABLE["learn_tokens_title"][lang])
    for n, name in enumerate(LESSONS):
        expect(page.locator("h1").first).to_have_text(TABLE[f"learn_{name}_title"][lang])
        browser.wait_idle(page, PAGE_MS)
        no_exception(page)
        charts = LESSON_CHARTS[name]
        if charts:
            expect(page.locator(f"{CHART} >> visible=true").nth(charts - 1)).to_be_visible()
            expect(page.locator(f"{CHART} canvas, {CHART} svg").first).to_be_visible()
        if name == "tokens":
            expect(page.locator('span[title^="id "]').first).to_be_visible()  # the coloured pieces
        if name == "attention":
            box = page.locator(browser.key_css("learn_att_token")).get_by_role("combobox")
            box.focus()
            box.press("ArrowDown")  # opens the list (a click only focuses it)
            box.press_sequentially("2")  # filters it: the list draws a dozen options at a time
            page.get_by_role("option").filter(has_text=re.compile(r"^2·")).first.click()  # itself and two before
            expect(page.get_by_text(re.compile(r"^[«“]2·"))).to_be_visible()
            browser.wait_idle(page, PAGE_MS)
            no_exception(page)
        if name == "softmax":
            before = lesson_reading(page)
            slider = page.locator(browser.key_css("learn_sm_temperature")).locator("input[type=range]")
            slider.focus()
            for _ in range(20):
                slider.press("ArrowRight")  # 1.0 -> 3.0
            browser.wait_idle(page, PAGE_MS)
            expect(page.locator(browser.key_css("learn_sm_temperature"))).to_contain_text(re.compile(r"3[.,]0"))
            after = lesson_reading(page)
            assert after != before, f"the temperature moved but the probabilities did not: {after!r}"
            no_exception(page)
        browser.save_screenshot(page, page.shots, f"learn-{n + 1}-{name}-{lang}")
        if n + 1 < len(LESSONS):
            nxt = TABLE[f"learn_{LESSONS[n + 1]}_title"][lang]
            page.locator('[data-testid="stPageLink"]').filter(has_text=nxt).click()
    expect(page.locator('[data-testid="stPageLink"]').filter(has_text=TABLE["learn_again"][lang])).to_be_visible()
