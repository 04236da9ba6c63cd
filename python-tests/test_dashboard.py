"""The operator console (GET /dashboard) in a real headless browser: Debian's chromium and
chromedriver (scripts/setup.sh installs them) driven by selenium, against the real binary.

The page loads without a key and shows nothing until an admin key works; a refused key is
said so. With the key it shows a queued and a failed request, and a click on retry queues the
failed one again, which the page then shows. Screenshots at 1280x800, of the whole page at that
width, and at a phone's size go to .build/dashboard.png, .build/dashboard-full.png and
.build/dashboard-phone.png.
"""
from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from conftest import HTTP_TIMEOUT, REPO_ROOT, unique

ADMIN_KEY = "dashboard-admin-key-0123"
WAIT_SECONDS = 15.0
SCREENSHOTS = REPO_ROOT / ".build"


def browser_binaries() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("the dashboard test needs chromium and chromedriver on PATH: run scripts/setup.sh "
                    "(apt-get install chromium chromium-driver)")
    return chromium, driver


@pytest.fixture(scope="module")
def console(start_server):
    return start_server({"PROXY_ADMIN_KEYS": f"{ADMIN_KEY}=ops@example.com"})


@pytest.fixture(scope="module")
def api(console) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.url, timeout=HTTP_TIMEOUT) as http:
        yield http


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    chromium, driver_path = browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


class Traffic:
    """Round trips through the console's replica while the page is open, so its chart and its
    replica figures have something to show."""

    def __init__(self, api: httpx.Client):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, args=(str(api.base_url),), name="dashboard-traffic", daemon=True)
        self.thread.start()

    def run(self, base_url: str) -> None:
        with httpx.Client(base_url=base_url, timeout=HTTP_TIMEOUT) as http:
            while not self.stop.is_set():
                try:
                    sent = http.post("/rpc/send", json={"app_name": "chart", "func_name": "ping", "destination": "bob@example.com"})
                    leased = http.get("/rpc/inbox/chart", params={"destination": "bob@example.com", "max": 10}).json()["requests"]
                    for item in leased:
                        http.post(f"/rpc/reply/{item['id']}", json={"result": "pong"})
                    assert sent.status_code == 200
                except (httpx.HTTPError, AssertionError):
                    pass
                self.stop.wait(0.05)

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


@pytest.fixture
def traffic(api) -> Iterator[Traffic]:
    running = Traffic(api)
    yield running
    running.end()


def wait_until(what: str, condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except WebDriverException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


def enter_key(browser: WebDriver, url: str, key: str) -> None:
    browser.get(f"{url}/dashboard")
    assert not browser.find_element(By.ID, "main").is_displayed()
    field = browser.find_element(By.ID, "key-input")
    field.clear()
    field.send_keys(key)
    browser.find_element(By.ID, "key-submit").click()


def table_text(browser: WebDriver, table: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, f"#{table} tbody").text


def test_the_page_refuses_a_wrong_key_and_shows_nothing(browser, console, api):
    ordinary = api.get("/admin/requests")
    assert ordinary.status_code == 401
    enter_key(browser, console.url, "not-an-admin-key-00")
    status = browser.find_element(By.ID, "key-status")
    wait_until("the refusal is shown", lambda: "Key refused" in status.text)
    assert "refused" in status.get_attribute("class")
    assert not browser.find_element(By.ID, "main").is_displayed()


def test_the_page_shows_queued_and_failed_requests_and_retries_one(browser, console, api, traffic):
    queued_app = unique("queued")
    queued = api.post("/rpc/send", json={"app_name": queued_app, "func_name": "slow", "destination": "carol@example.com"}).json()["id"]
    failed_app = unique("broken")
    failed = api.post("/rpc/send", json={"app_name": failed_app, "func_name": "crash", "destination": "dave@example.com"}).json()["id"]
    assert api.post(f"/rpc/reply/{failed}", json={"error": "the app raised ZeroDivisionError"}).status_code == 200

    enter_key(browser, console.url, ADMIN_KEY)
    wait_until("the console opens", lambda: browser.find_element(By.ID, "main").is_displayed())
    assert "Connected" in browser.find_element(By.ID, "key-status").text
    wait_until("the queued request is listed", lambda: queued in table_text(browser, "requests"))
    wait_until("its queue is shown", lambda: queued_app in table_text(browser, "queues"))
    wait_until("the failed request is listed", lambda: failed in table_text(browser, "failed"))
    assert "app_error" in table_text(browser, "failed")
    wait_until("the replica is listed", lambda: console.replica_id in table_text(browser, "replicas"))
    wait_until("the chart app's pull consumer is listed", lambda: "chart" in table_text(browser, "endpoints"))
    # A few polls, so the chart has a line.
    wait_until("the chart has a line", lambda: len(browser.find_elements(By.CSS_SELECTOR, "#chart polyline")) == 2, seconds=20)
    time.sleep(4)
    SCREENSHOTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOTS / "dashboard.png"))
    # The whole page at the same width, for the README.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, height + 160)
    assert browser.save_screenshot(str(SCREENSHOTS / "dashboard-full.png"))
    browser.set_window_size(1280, 800)
    traffic.end()

    browser.find_element(By.CSS_SELECTOR, f"#failed button.retry[data-id='{failed}']").click()
    wait_until("the retried request leaves the failed list", lambda: failed not in table_text(browser, "failed"))
    # Newer round trips fill the recent list; the state filter finds it among the pending ones.
    Select(browser.find_element(By.ID, "requests-state")).select_by_value("pending")
    row = f"#requests tr[data-id='{failed}']"
    wait_until("the page shows it pending again", lambda: "pending" in browser.find_element(By.CSS_SELECTOR, row).text)
    assert api.get(f"/rpc/status/{failed}").json()["status"] == "pending"

    search = browser.find_element(By.ID, "search-input")
    search.send_keys(failed)
    browser.find_element(By.ID, "search-submit").click()
    timeline = lambda: browser.find_element(By.ID, "search-result").text
    wait_until("the timeline shows the retry", lambda: "retried" in timeline() and "failed" in timeline() and "created" in timeline())
    assert ": pending" in timeline()

    browser.set_window_size(390, 844)
    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(1)
    width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, f"the page scrolls sideways at a phone's width: {width}"
    assert browser.save_screenshot(str(SCREENSHOTS / "dashboard-phone.png"))


def test_the_console_is_off_without_admin_keys(api, client):
    # The main server of the suite has no PROXY_ADMIN_KEYS.
    off = client.get("/dashboard")
    assert off.status_code == 404
    assert "PROXY_ADMIN_KEYS" in off.json()["detail"]
    on = api.get("/dashboard")
    assert on.status_code == 200
    policy = on.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
