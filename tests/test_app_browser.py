"""The what-if page end to end in a real browser: headless Chromium driven by Selenium through
the system chromedriver.  The page is started as ``servicesim app`` on a free local port
(a subprocess, waited for with a bound, always stopped); the test moves the target
control, waits for the figures to update, loads broken scenarios, downloads the edited
scenario and checks it with the loader, and saves a screenshot at 1366×768.

Skips, saying why, where Selenium, Chromium or chromedriver cannot be had (CI installs
them: ``.ci/run``)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import servicesim

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SOURCES = Path(servicesim.__file__).resolve().parents[1]
SCREENSHOT = Path("/tmp/app-screenshot.png")

pytest.importorskip("shiny", reason="the app extra (Shiny) is not installed")
webdriver = pytest.importorskip("selenium.webdriver",
                                reason="selenium is not installed (the test extra has it)")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


def _find(*names: str) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


CHROMIUM = _find("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = _find("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip("no Chromium or chromedriver on this machine (Debian: apt-get install "
                "chromium chromium-driver)", allow_module_level=True)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("app")
    out = {"results": base / "results", "downloads": base / "downloads", "base": base}
    for path in out.values():
        path.mkdir(exist_ok=True)
    return out


@pytest.fixture(scope="module")
def page_url(folders: dict[str, Path]) -> Iterator[str]:
    """``servicesim app`` on a free port, stopped after the module's tests."""
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCES), env.get("PYTHONPATH")]))
    log = folders["base"] / "app.log"
    with open(log, "w", encoding="utf-8") as stream:
        proc = subprocess.Popen(
            [sys.executable, "-m", "servicesim", "app", str(BASELINE), "--port", str(port),
             "--results-dir", str(folders["results"])],
            cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the app ended at start: {log.read_text(encoding='utf-8')}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not answer within 60 s: {log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser(folders: dict[str, Path]) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1366,768"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.add_experimental_option("prefs", {
        "download.default_directory": str(folders["downloads"]),
        "download.prompt_for_download": False})
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER),
                                  options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium could not be started here: {exc.msg}")
    driver.set_window_size(1366, 768)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {  # headless: downloads allowed
        "behavior": "allow", "downloadPath": str(folders["downloads"])})
    try:
        yield driver
    finally:
        driver.quit()


def _until(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except WebDriverException:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def _done_job(driver: Any) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, "#status[data-state=done]")
    return found[0].get_attribute("data-job") if found else ""


def _cell(driver: Any, figure: str, column: int) -> str:
    row = driver.find_element(By.CSS_SELECTOR, f"#figures-table tr[data-figure={figure}]")
    return row.find_elements(By.TAG_NAME, "td")[column].text


def _error(driver: Any, control: str) -> str:
    slot = driver.find_element(By.CSS_SELECTOR, f".ctl-error[data-control={control}]")
    return slot.get_attribute("textContent") or ""


def test_the_page_end_to_end(browser: Any, page_url: str, folders: dict[str, Path],
                             tmp_path: Path) -> None:
    driver = browser
    driver.get(page_url)
    first = _until(lambda: _done_job(driver), 60, "the first what-if")
    roi_before = _cell(driver, "roi", 4)
    assert re.fullmatch(r"\d+\.\d %", roi_before), roi_before

    # move the target slider's handle to the left: a lower service target
    handle = driver.find_element(By.CSS_SELECTOR, "[id^=target__] ~ .irs .irs-handle, "
                                 ".irs:has(~ [id^=target__]) .irs-handle")
    ActionChains(driver).drag_and_drop_by_offset(handle, -40, 0).perform()
    target = float(driver.find_element(By.CSS_SELECTOR, "input[id^=target__]")
                   .get_attribute("value"))
    assert 0.5 <= target < 0.95
    _until(lambda: _done_job(driver) not in ("", first), 30, "the what-if of the new target")
    assert _cell(driver, "roi", 4) != roi_before  # the edited ROI moved
    for figure in ("roi", "item_fill_rate", "operating_profit"):
        for column in (3, 5, 7):  # today's CI, the edited CI, the change's CI
            assert re.search(r"\d.*(–| to ).*\d", _cell(driver, figure, column)), figure
    assert "policy.service_target" in driver.find_element(By.ID, "figures").text
    assert driver.find_elements(By.CSS_SELECTOR, "#theory-table tbody tr")

    # download the edited scenario and read it back with the loader
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {
        "behavior": "allow", "downloadPath": str(folders["downloads"])})
    link = driver.find_element(By.ID, "download")
    link.click()
    saved = _until(lambda: [p for p in folders["downloads"].glob("*.yaml")], 30,
                   "the downloaded scenario")
    downloaded = servicesim.load_scenario(saved[0])
    assert downloaded.policy.service_target == pytest.approx(target)
    assert downloaded.run.horizon_days == 730  # the page's quick horizon is not written

    # the quick sweep, drawn by the project's chart
    driver.find_element(By.ID, "run_sweep").click()
    _until(lambda: driver.find_elements(By.ID, "sweep-chart"), 60, "the sweep chart")
    driver.execute_script("document.querySelectorAll('.main, body').forEach("
                          "e => { e.scrollTop = 0; })")
    shot = tmp_path / "app.png"
    driver.save_screenshot(str(shot))
    shutil.copyfile(shot, SCREENSHOT)
    assert shot.stat().st_size > 10_000

    # a control out of bounds: the loader's message next to it, no traceback
    horizon = driver.find_element(By.CSS_SELECTOR, "input[id^=horizon_days__]")
    horizon.clear()
    horizon.send_keys("30\t")
    expected = "warmup_days (90) must be less than horizon_days (30)"
    _until(lambda: expected in _error(driver, "horizon_days"), 15, "the horizon's error")
    assert driver.find_element(By.CSS_SELECTOR, "#status").get_attribute("data-state") \
        is None  # nothing runs while a control is wrong
    assert "Traceback" not in driver.page_source

    # a broken scenario file, uploaded, and a path outside the results folder
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\npolicy: {service_target: 2}\n", encoding="utf-8")
    driver.find_element(By.ID, "upload").send_keys(str(broken))
    message = _until(lambda: driver.find_element(By.ID, "load-message").text, 15,
                     "the upload's message")
    assert "upload broken.yaml" in message and "policy.service_target" in message
    assert "value 2" in message
    driver.find_element(By.ID, "path").send_keys("../../../etc/passwd")
    driver.find_element(By.ID, "load_path").click()
    _until(lambda: "outside the results folder" in
           driver.find_element(By.ID, "load-message").text, 15, "the refused path")

    # a good scenario, uploaded: the controls are drawn again for it and it runs
    before = _done_job(driver) or driver.find_element(By.ID, "status").get_attribute("id")
    other = ROOT / "scenarios" / "theory_lost_sales_basestock.yaml"
    driver.find_element(By.ID, "upload").send_keys(str(other))
    name = servicesim.load_scenario(other).name
    _until(lambda: name in driver.find_element(By.ID, "scenario_name").text, 15,
           "the uploaded scenario's name")
    _until(lambda: _done_job(driver) not in ("", before), 60, "the new scenario's what-if")
    assert _error(driver, "horizon_days") == ""
    written = {p.relative_to(folders["results"]).parts[0]
               for p in folders["results"].rglob("*") if p.is_file()}
    assert written <= {"app-uploads", "baseline"}  # uploads and the sweep's folder only
