"""Headless Chromium (Debian's chromium + chromium-driver) driving a real `httprouter serve`.

Selenium is pointed at /usr/bin/chromedriver, so it never downloads a driver. Screenshots go to
$SCREENSHOT_DIR when set (docs/screenshots holds the ones the README shows), else to a temp dir.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from httprouter.store.engine import make_engine
from httprouter.store.users import create_user
from tests.support.console_support import PASSWORD, USERNAME
from tests.support.servers import ServedRouter

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 30
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI"):
            raise RuntimeError("CI must install chromium and chromium-driver")
        pytest.skip("chromium / chromium-driver not installed (optional locally; CI runs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    yield driver
    driver.quit()


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[ServedRouter]:
    engine = make_engine(db_url)
    try:
        create_user(engine, USERNAME, PASSWORD)
    finally:
        engine.dispose()
    server = ServedRouter(
        tmp_path,
        {
            "DATABASE_URL": db_url,
            "SMS_APPS": ["httprouter.apps.echo.EchoApp"],
            "LOG_FORMAT": "text",
        },
        "--workers",
        "1",
    )
    yield server
    server.stop()


@pytest.fixture
def screenshot(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = folder / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return take
