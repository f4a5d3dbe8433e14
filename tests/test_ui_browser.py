"""The browser page in a real headless Chromium, against a real `chi-lite serve --http` process.

Needs Debian's chromium + chromium-driver and Python's selenium (the `test` extra); skipped,
with the reason, only where no browser or driver can be found. Saves the screenshots of the
three views into docs/ (docs/ui-predict.png, ui-phase.png, ui-screen.png).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CLI = [sys.executable, "-c", "from chi_lite.cli import main; main()"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WAIT_S = 30


def _find_browser() -> tuple[str, str]:
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.access(p, os.X_OK)), None
    )
    if browser is None or driver is None:
        pytest.skip(f"no headless browser: chromium {'found' if browser else 'missing'}, chromedriver "
                    f"{'found' if driver else 'missing'} (apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def server():
    """`chi-lite serve --http` with the shipped model on a free loopback port."""
    env = {**os.environ, "CHI_LITE_THREADS": "1"}
    env.pop("CHI_LITE_MODEL", None)
    proc = subprocess.Popen([*CLI, "serve", "--http", "--port", "0"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    line = proc.stderr.readline().decode()
    match = re.search(r"listening on (http://\S+)", line)
    if match is None:
        proc.kill()
        pytest.fail(line + proc.communicate()[1].decode())
    yield match.group(1)
    proc.terminate()
    proc.communicate(timeout=30)


def api(url: str, path: str, payload: dict) -> dict:
    request = urllib.request.Request(url + path, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary, driver_path = _find_browser()
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install 'chi-lite[test]')")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,800",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_window_size(1280, 800)
    yield driver
    driver.quit()


def wait_for(driver, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(condition, message)


def by_id(driver, element_id: str):
    return driver.find_element("id", element_id)


def fill(driver, element_id: str, text: str) -> None:
    field = by_id(driver, element_id)
    field.clear()
    field.send_keys(text)


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver, name: str) -> None:
    DOCS.mkdir(exist_ok=True)
    driver.execute_script("document.activeElement && document.activeElement.blur()")  # no caret: same picture each run
    assert driver.save_screenshot(str(DOCS / name)), name


@pytest.fixture(scope="module")
def page(browser, server):
    browser.get(server + "/")
    wait_for(browser, lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "true", "page start-up")
    return browser


def test_page_loads_offline_with_no_console_errors(page, server):
    assert console_errors(page) == []
    assert "Ready" in by_id(page, "server-status").text
    assert page.execute_script("return document.getElementById('polymer-names').options.length") > 20
    assert by_id(page, "tab-calibrate").is_displayed()  # the server lists its calibrate op
    # nothing the page loads comes from elsewhere
    sources = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert sources and all(s.startswith(server) for s in sources), sources


def test_predict_shows_the_chi_the_api_returns(page, server):
    fill(page, "p-polymer", "polystyrene")
    fill(page, "p-solvent", "toluene")
    fill(page, "p-temperature", "25")
    by_id(page, "p-temperature").submit()  # Enter in a field, as a keyboard user would
    chi = wait_for(page, lambda d: by_id(d, "p-chi").get_attribute("data-chi"), "predict answer")
    expected = api(server, "/predict", {"polymer": "polystyrene", "solvent": "toluene", "temperature": 25})["result"]
    assert float(chi) == expected["chi"]
    assert by_id(page, "p-chi").text == f"{expected['chi']:.4f} ± {expected['chi_std']:.4f}"
    assert by_id(page, "p-verdict").text and "χ(T) = " in by_id(page, "p-equation").text
    wait_for(page, lambda d: d.find_elements("css selector", "#p-chart svg path.chi"), "χ(T) curve")
    assert page.find_elements("css selector", "#p-chart svg path.band")
    assert page.find_elements("css selector", "#p-chart svg path.critical")
    assert console_errors(page) == []
    screenshot(page, "ui-predict.png")


def test_phase_view_draws_binodal_spinodal_and_critical_point(page, server):
    by_id(page, "tab-phase").click()
    fill(page, "f-polymer", "PDMS")
    fill(page, "f-solvent", "1-butanol")
    fill(page, "f-chain", "1000")
    by_id(page, "f-submit").click()
    wait_for(page, lambda d: d.find_elements("css selector", "#f-chart svg path.binodal"), "phase diagram")
    expected = api(server, "/phase", {"polymer": "PDMS", "solvent": "1-butanol", "chain_length": 1000})["result"]
    assert by_id(page, "f-behaviour").text == expected["description"]
    assert len(page.find_elements("css selector", "#f-chart svg path.spinodal")) == 2
    assert bool(page.find_elements("css selector", "#f-chart svg circle.cpoint")) == expected["critical_in_range"]
    assert console_errors(page) == []
    screenshot(page, "ui-phase.png")


def test_screen_ranks_like_the_api_and_sorts(page, server):
    by_id(page, "tab-screen").click()
    fill(page, "s-polymer", "polystyrene")
    fill(page, "s-temperature", "25")
    fill(page, "s-top", "15")
    by_id(page, "s-submit").click()
    wait_for(page, lambda d: d.find_elements("css selector", "#s-table tbody tr"), "screen table")
    expected = api(server, "/screen", {"polymer": "polystyrene", "temperature": 25, "top": 15})["result"]["rows"]
    header = [b.get_attribute("data-column") for b in page.find_elements("css selector", "#s-table thead th button")]
    first = [td.text for td in page.find_elements("css selector", "#s-table tbody tr:first-child td")]
    top = dict(zip(header, first))
    assert top["name"] == expected[0]["name"] and top["chi"] == f"{expected[0]['chi']:.4f}"
    assert len(page.find_elements("css selector", "#s-table tbody tr")) == 15
    screenshot(page, "ui-screen.png")
    page.find_element("css selector", '#s-table button[data-column="chi"]').click()
    page.find_element("css selector", '#s-table button[data-column="chi"]').click()  # second click: descending
    first_chi = page.find_element("css selector", "#s-table tbody tr:first-child td:nth-child(%d)" % (header.index("chi") + 1)).text
    assert first_chi == f"{max(r['chi'] for r in expected):.4f}"
    csv_text = page.execute_script("return screenCsv()")
    import csv
    import io

    assert list(csv.reader(io.StringIO(csv_text)))[1][header.index("name")] == expected[0]["name"]  # names may hold commas
    assert console_errors(page) == []


def test_screen_of_a_pasted_list_reports_a_bad_line_by_its_line_number(page):
    by_id(page, "tab-screen").click()
    by_id(page, "s-mine").click()
    fill(page, "s-solvents", "toluene\n\nC(\nwater")
    by_id(page, "s-submit").click()
    bad = wait_for(page, lambda d: by_id(d, "s-bad-list").text, "bad rows")
    assert bad == "line 3: invalid solvent SMILES: 'C('"
    assert "1 line(s) could not be screened" in by_id(page, "s-solvents-error").text
    assert len(page.find_elements("css selector", "#s-table tbody tr")) == 2
    by_id(page, "s-builtin").click()


def test_narrow_window_has_no_sideways_scrolling(page):
    page.set_window_size(420, 800)
    try:
        by_id(page, "tab-predict").click()
        assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        page.set_window_size(1280, 800)


def test_bad_smiles_error_appears_next_to_its_field_in_the_cli_words(page, server):
    by_id(page, "tab-predict").click()
    fill(page, "p-polymer", "polystyrene")
    fill(page, "p-solvent", "C1CC(")
    by_id(page, "p-submit").click()
    message = wait_for(page, lambda d: by_id(d, "p-solvent-error").text, "error next to the solvent field")
    assert by_id(page, "p-solvent").get_attribute("aria-invalid") == "true"
    assert by_id(page, "p-polymer-error").text == "" and by_id(page, "p-form-error").text == ""
    assert message == api(server, "/predict", {"polymer": "polystyrene", "solvent": "C1CC(", "temperature": 25})["error"]
    cli = subprocess.run([*CLI, "predict", "--polymer", "polystyrene", "--solvent", "C1CC(", "--temperature", "25"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2 and cli.stderr.strip() == f"error: {message}"
    # the only console entry is the browser's note of the 400 answer itself
    assert all("status of 400" in e for e in console_errors(page))
    assert not by_id(page, "p-result").is_displayed()  # the earlier answer does not stay beside the refusal


def test_tabs_answer_arrow_keys_and_calibrate_hides_when_the_server_lacks_it(page, tiny_model_dir):
    import threading

    from selenium.webdriver.common.keys import Keys

    from chi_lite.predictor import ChiPredictor
    from chi_lite.server import ChiHTTPServer
    from chi_lite.service import ChiService

    by_id(page, "tab-predict").click()
    by_id(page, "tab-predict").send_keys(Keys.ARROW_RIGHT)
    assert by_id(page, "tab-phase").get_attribute("aria-selected") == "true" and by_id(page, "view-phase").is_displayed()
    assert page.switch_to.active_element == by_id(page, "tab-phase")

    service = ChiService(ChiPredictor(tiny_model_dir))
    del service.ops["calibrate"]  # a server without the op: the page hides its tab
    httpd = ChiHTTPServer(("127.0.0.1", 0), service)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        page.get(httpd.url + "/")
        wait_for(page, lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "true", "start-up")
        assert not by_id(page, "tab-calibrate").is_displayed()
        assert not by_id(page, "tab-screen").is_displayed()  # no screener behind this service
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_calibrate_view_fits_a_profile_from_typed_tests(page, server):
    page.get(server + "/")
    wait_for(page, lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "true", "page start-up")
    by_id(page, "tab-calibrate").click()
    by_id(page, "c-polymer").send_keys("polystyrene")
    by_id(page, "c-tests").clear()
    by_id(page, "c-tests").send_keys("solvent,chi\ntoluene,0.30\ncyclohexane,0.55\nacetone,1.1\n")
    by_id(page, "c-submit").click()
    wait_for(page, lambda d: by_id(d, "c-result").is_displayed(), "the fitted profile")
    wait_for(page, lambda d: "polystyrene" in by_id(d, "c-fields").get_attribute("textContent"), "the profile's fields")
    text = by_id(page, "c-fields").get_attribute("textContent")
    assert "tests" in text, text[:300]
    wait_for(page, lambda d: len(d.find_elements("css selector", "#c-ranking tr")) > 1, "the ranking the profile gives")
    assert "toluene" in by_id(page, "c-ranking").get_attribute("textContent") or len(page.find_elements("css selector", "#c-ranking tr")) == 11
    assert console_errors(page) == []
