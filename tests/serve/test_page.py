"""The demo shop page in a real browser: Playwright drives Debian's headless Chromium
(``/usr/bin/chromium``; ``.ci/run`` installs it) against a live uvicorn server.

Screenshots of every step go to ``artifacts/browser/`` (kept by CI as test artefacts).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from coldrec.eval.reports import save_evaluation
from coldrec.eval.runner import run_protocol
from coldrec.experiments import Experiment, Variant
from coldrec.models.registry import get_model_spec
from coldrec.serve.app import create_app
from coldrec.serve.engine import RecommenderService
from coldrec.serve.settings import Settings
from coldrec.serve.store import EventStore
from tests.serve.shop import shop_dataset

CHROMIUM = os.environ.get("COLDREC_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
HYBRID = {"cf": "ease", "cf_lam": 5.0}

if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
    pytest.skip(f"{CHROMIUM} is not installed here (CI installs it; see .ci/run)",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn in a thread on a free port; stopped at teardown."""

    def __init__(self, app: Any) -> None:
        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _start(tmp: Path, experiment: Experiment | None = None) -> LiveServer:
    data = shop_dataset()
    url = f"sqlite:///{tmp / 'store.sqlite'}"
    service = RecommenderService.from_dataset(EventStore(url), data, "hybrid", HYBRID,
                                              experiment=experiment, new_arrivals=5)
    settings = Settings(database_url=url, open_writes=True, reports_dir=tmp / "reports",
                        data="shop")
    return LiveServer(create_app(settings, service))


@pytest.fixture(scope="module")
def shop_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("page")
    data = shop_dataset()
    results = [run_protocol(data, "P1", get_model_spec(name).build, [params], [10],
                            model_name=name, progress=False)
               for name, params in (("popularity", {}), ("hybrid", HYBRID))]
    save_evaluation(results, tmp / "reports", "coldrec evaluate --data shop --protocol P1")
    with _start(tmp) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM,
                               args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any, shop_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(shop_url)
    pg.wait_for_selector("body[data-ready='1']")
    yield pg
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name.encode("ascii", "backslashreplace")
                  .decode()).strip("_")
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _titles(page: Any, panel: str) -> list[str]:
    return page.locator(f"{panel} .card .title").all_inner_texts()


def _redraw(page: Any, action: Any) -> None:
    """Run ``action`` and wait until the recommendation panels have been redrawn."""
    before = page.locator("#recs").get_attribute("data-version")
    action()
    page.wait_for_function(
        "v => document.querySelector('#recs').dataset.version !== v", arg=before)


def _be(page: Any, shopper: str) -> None:
    page.fill("#shopper-input", shopper)
    _redraw(page, lambda: page.click("#shopper-go"))
    assert page.inner_text("#shopper-id") == shopper


def test_browse_catalogue_by_department_and_page(page: Any) -> None:
    assert page.locator("#catalog .card").count() == 24
    assert "1–24 of 36" in page.inner_text("#page-info")
    page.click("#next")
    page.wait_for_function("document.querySelector('#page-info').innerText.startsWith('25')")
    assert page.locator("#catalog .card").count() == 12
    page.select_option("#category", "Pet")
    page.wait_for_function("document.querySelectorAll('#catalog .card').length === 6")
    assert all("Pet > Dogs" in m for m in page.locator("#catalog .card .meta").all_inner_texts())


@pytest.mark.parametrize(("query", "department"), [("coffee beans", "Grocery > Coffee"),
                                                   ("咖啡", "Grocery > Coffee"),
                                                   ("狗粮", "Pet > Dogs")])
def test_search_in_english_and_chinese(page: Any, query: str, department: str) -> None:
    page.fill("#search", query)
    page.click("#search-form button")
    page.wait_for_function("document.querySelector('#catalog-title').innerText"
                           ".startsWith('Results')")
    metas = page.locator("#catalog .card .meta").all_inner_texts()[:3]
    assert all(department in m for m in metas), (query, metas)


def test_clicks_update_the_three_panels_with_reasons(page: Any) -> None:
    _be(page, "walk-in-1")  # unknown to the model: a cold-start shopper
    assert page.locator("#recs .card").count() == 8
    first = _titles(page, "#recs")
    # click a tea product twice: the panels follow the clicks
    page.select_option("#category", "Grocery > Tea")
    page.wait_for_function("document.querySelectorAll('#catalog .card').length === 6")
    for nth in (0, 1):
        _redraw(page, lambda n=nth: page.locator("#catalog .card").nth(n).click())
    recs = _titles(page, "#recs")
    assert recs != first
    metas = page.locator("#recs .card .meta").all_inner_texts()
    assert sum("Tea" in m for m in metas[:4]) >= 3, metas
    reasons = page.locator("#recs .card .reason").all_inner_texts()
    assert len(reasons) == 8 and all(r.strip() for r in reasons)
    assert any("like items you" in r or "bought" in r for r in reasons)
    similar = page.locator("#similar .card .meta").all_inner_texts()
    assert len(similar) == 5 and sum("Tea" in m for m in similar) >= 3, similar
    assert "to " in page.inner_text("#similar-to")
    assert page.locator("#arrivals .card").count() == 5
    assert page.locator("#clicks li").count() == 2


def test_new_shopper_from_the_profile_form(page: Any) -> None:
    page.click("#new-shopper")
    page.wait_for_selector("#new-shopper-dialog[open]")
    page.select_option("#attr-age", "25-34")
    page.select_option("#attr-household", "Kids")
    _redraw(page, lambda: page.click("#new-shopper-start"))
    assert page.inner_text("#shopper-id").startswith("shopper-")
    metas = page.locator("#recs .card .meta").all_inner_texts()
    # young households with kids bought baby care in this shop
    assert sum("Baby" in m for m in metas[:4]) >= 3, metas


def test_admin_adds_a_product_recommended_at_once(page: Any) -> None:
    _be(page, "coffee-fan")
    page.select_option("#category", "Grocery > Coffee")
    page.wait_for_function("document.querySelectorAll('#catalog .card').length === 6")
    _redraw(page, lambda: page.locator("#catalog .card").nth(0).click())
    page.click("#tab-admin")
    page.fill("#item-title", "Hazelnut Coffee Beans Medium Roast")
    page.fill("#item-description", "Whole bean arabica coffee with hazelnut flavour")
    page.fill("#item-category", "Grocery > Coffee")
    page.fill("#item-price", "8.99")
    page.click("#item-add")
    page.wait_for_selector("#item-status")
    assert "recommendable now" in page.inner_text("#item-status")
    fresh = page.locator("#item-arrivals .card.fresh .title")
    assert fresh.inner_text() == "Hazelnut Coffee Beans Medium Roast"
    assert "#1 in shopper coffee-fan" in page.inner_text("#item-result")
    page.click("#tab-shop")
    page.wait_for_function("[...document.querySelectorAll('#arrivals .title')]"
                           ".some(t => t.innerText.startsWith('Hazelnut'))")


def test_metrics_view_plots_and_tables(page: Any) -> None:
    _redraw(page, lambda: page.locator("#catalog .card").nth(3).click())
    page.click("#tab-metrics")
    page.wait_for_selector("#curve-recommended")
    assert page.locator("#curve-purchases").get_attribute("d").count("L") >= 10
    coverage = page.inner_text("#stat-coverage")
    assert coverage.endswith("%") and float(coverage[:-1]) > 0
    assert int(page.inner_text("#stat-events")) >= 1
    assert float(page.inner_text("#stat-p50")) > 0
    page.wait_for_selector("#evaluation tbody tr")  # the report loads on its own request
    rows = page.locator("#evaluation tbody tr").all_inner_texts()
    assert len(rows) == 2 and rows[0].startswith("popularity") and "hybrid" in rows[1]
    # recall and NDCG carry their 95 % interval: "0.1234 (0.1000–0.1500)"
    assert re.search(r"\d\.\d{4} \(\d\.\d{4}–\d\.\d{4}\)", rows[1])
    assert "ndcg@10 (95% CI)" in page.inner_text("#evaluation thead")
    page.wait_for_selector("#experiment >> text=No experiment")


def test_experiment_variant_badge_and_report(browser: Any,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    exp = Experiment("page-ab", (Variant("control", model="popularity"), Variant("hybrid")))
    shopper = next(f"s{i}" for i in range(100) if exp.assign(f"s{i}").name == "hybrid")
    with _start(tmp_path_factory.mktemp("ab"), exp) as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        # the page opens as this returning shopper (what it remembers in localStorage)
        context.add_init_script(f"localStorage.setItem('coldrec-shopper', '{shopper}')")
        pg = context.new_page()
        pg.goto(server.url)
        pg.wait_for_selector("body[data-ready='1']")
        pg.wait_for_selector("#recs[data-version]")
        assert pg.inner_text("#shopper-id") == shopper
        assert pg.inner_text("#shopper-variant") == "variant page-ab/hybrid"
        _redraw(pg, lambda: pg.locator("#recs .card").nth(0).click())
        pg.click("#tab-metrics")
        pg.wait_for_selector("#experiment-decision")
        rows = {r.split("\t")[0]: r.split("\t") for r in
                pg.locator("#experiment tbody tr").all_inner_texts()}
        assert set(rows) == {"control", "hybrid"}
        # this shopper: 8 shown on each of 2 draws (becoming them, after the click), 1 click
        assert rows["hybrid"][1:4] == ["1", "16", "1"]
        pg.screenshot(path=str(ARTIFACTS / "experiment.png"), full_page=True)
        context.close()
