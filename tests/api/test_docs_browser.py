"""Swagger UI at /api/docs/ runs in Chromium under ``script-src 'self'`` with no network but ours."""
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# What the Content Security Policy of the app forbids that matters here: any script not from us.
CSP = "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_docs_page_lists_the_operations_under_a_strict_csp(live_server, monkeypatch, settings):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed (.ci/run installs it from Debian)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(base_url=live_server.url).new_page()
        problems, foreign = [], []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("request", lambda request: request.url.startswith(live_server.url) or foreign.append(request.url))

        def with_csp(route):
            response = route.fetch()
            route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

        page.route("**/api/docs/", with_csp)
        page.goto("/api/docs/")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        browser.close()

    assert "/api/studies/" in [path.replace("\u200b", "") for path in paths]
    assert problems == []  # a blocked script would be reported here as a CSP violation
    assert foreign == []
