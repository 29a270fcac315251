"""The console end to end in headless Chromium: log in, simulate a phone, send, filter, open a
message, send a failed message again. Every test saves a screenshot."""

from __future__ import annotations

import pytest
import requests
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from httprouter.domain.encodings import segment_count
from httprouter.domain.statuses import FAILED
from httprouter.store.engine import make_engine
from httprouter.store.history import change_status
from httprouter.store.schema import messages
from tests.support.console_support import PASSWORD, USERNAME

from .conftest import WAIT_SECONDS

pytestmark = pytest.mark.slow


def wait(browser):
    # The log replaces its rows every few seconds: an element read mid-refresh goes stale, and
    # the condition is simply read again.
    return WebDriverWait(
        browser, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
    )


def log_in(browser, server, path="/router/console"):
    browser.delete_all_cookies()
    browser.get(server.url + path)
    wait(browser).until(ec.presence_of_element_located((By.NAME, "username")))
    browser.find_element(By.NAME, "username").send_keys(USERNAME)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "header.top")))


def receive(server, sender, text, backend="console"):
    answer = requests.get(
        server.url + "/router/receive",
        params={"backend": backend, "sender": sender, "message": text},
        timeout=30,
    )
    assert answer.status_code == 200
    return answer.json()


def row_ids(browser):
    return [
        int(r.get_attribute("data-id"))
        for r in browser.find_elements(By.CSS_SELECTOR, "#log tr[data-id]")
    ]


def test_log_in_filter_the_log_and_watch_it_refresh(browser, served, screenshot):
    receive(served, "+250788000001", "Muraho! Ndashaka kwiyandikisha")
    receive(served, "+250788000002", "<img src=x onerror=alert(1)>")
    receive(served, "+250788000003", "ping", backend="modem")
    log_in(browser, served)
    assert row_ids(browser) == [6, 5, 4, 3, 2, 1]
    assert "<img src=x onerror=alert(1)>" in browser.find_element(By.ID, "log").text
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - the message is text, never markup

    Select(browser.find_element(By.NAME, "direction")).select_by_visible_text("inbound")
    browser.find_element(By.NAME, "contact").send_keys("0001", Keys.ENTER)
    wait(browser).until(lambda b: "contact=0001" in b.current_url)
    assert "direction=I" in browser.current_url
    assert row_ids(browser) == [1]

    # A new matching message appears by itself; the filters stay in the URL.
    receive(served, "+250788000001", "second message")
    wait(browser).until(lambda b: row_ids(b) == [7, 1])
    assert "direction=I" in browser.current_url and "contact=0001" in browser.current_url

    browser.get(served.url + "/router/console")
    screenshot("console-log")


def test_phone_simulator_shows_the_echo_reply(browser, served, screenshot):
    log_in(browser, served, "/router/console/simulator")
    box = browser.find_element(By.ID, "sim-text")
    box.send_keys("echo Hello from the simulator")
    box.send_keys(Keys.ENTER)
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#thread .to-phone")) == 1)
    replies = browser.find_elements(By.CSS_SELECTOR, "#thread .to-phone .bubble-text")
    assert replies[0].text == "Hello from the simulator"

    # Messages created elsewhere for this phone appear without reloading the page.
    receive(served, "+12065551212", "ping")
    wait(browser).until(
        lambda b: (
            [e.text for e in b.find_elements(By.CSS_SELECTOR, "#thread .to-phone .bubble-text")]
            == ["Hello from the simulator", "pong"]
        )
    )
    screenshot("console-simulator")
    browser.set_window_size(390, 844)
    try:
        screenshot("console-simulator-phone")
    finally:
        browser.set_window_size(1280, 900)


def test_send_form_counts_segments_and_sends(browser, served, screenshot):
    log_in(browser, served, "/router/console/send")
    for sample in ("", "hello", "x" * 160, "x" * 161, "€" * 80, "héllo ✓", "😀" * 35, "a" * 300):
        encoding, parts = segment_count(sample)
        js = browser.execute_script("return window.httprouterSegments(arguments[0])", sample)
        assert (js["encoding"], js["parts"]) == (encoding, parts), sample
    browser.find_element(By.NAME, "backend").send_keys("modem")
    browser.find_element(By.NAME, "to").send_keys("+250788000001\n+250788000002")
    text = browser.find_element(By.ID, "send-text")
    counter = browser.find_element(By.ID, "send-counter")
    text.send_keys("x" * 161)
    assert counter.get_attribute("data-parts") == "2"
    assert "GSM-7" in counter.text
    text.clear()
    text.send_keys("Clinic opens at 9 ✓")
    assert counter.get_attribute("data-encoding") == "UCS-2"
    assert counter.text.startswith("19 characters · UCS-2 · 1 SMS part")
    screenshot("console-send")
    browser.find_element(By.CSS_SELECTOR, "form.send button[type=submit]").click()
    wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".flash-ok")))
    assert (
        "Created 2 message(s) on modem" in browser.find_element(By.CSS_SELECTOR, ".flash-ok").text
    )
    assert row_ids(browser) == [2, 1]


def test_open_a_message_from_the_log(browser, served, screenshot):
    receive(served, "+250788000001", "ping")
    log_in(browser, served)
    browser.find_element(By.LINK_TEXT, "#1").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "history")))
    assert browser.find_element(By.ID, "message-text").text == "ping"
    history = browser.find_element(By.ID, "history").text
    assert "received" in history and "handled" in history
    browser.find_element(By.LINK_TEXT, "#2").click()
    wait(browser).until(lambda b: b.current_url.endswith("/router/console/messages/2"))
    assert browser.find_element(By.ID, "message-text").text == "pong"
    screenshot("console-detail")


def test_send_again_on_a_failed_message(browser, served, db_url, screenshot):
    # A pulled backend: its reply (2) stays queued for a poller, as it does again once resent
    # (the simulator's own backend delivers its replies at once).
    receive(served, "+250788000001", "ping", backend="modem")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            change_status(conn, 2, FAILED, "push", values={"error": "HTTP 403 not routable"})
        log_in(browser, served, "/router/console/queues")
        assert "HTTP 403 not routable" in browser.find_element(By.ID, "failed").text
        screenshot("console-queues")
        browser.find_element(By.CSS_SELECTOR, "button.resend[data-message-id='2']").click()
        wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".flash-ok")))
        assert (
            "Message 2 is queued again." in browser.find_element(By.CSS_SELECTOR, ".flash-ok").text
        )
        with engine.connect() as conn:
            assert conn.execute(select(messages.c.status).where(messages.c.id == 2)).scalar() == "Q"
    finally:
        engine.dispose()
