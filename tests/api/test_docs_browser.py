"""Swagger UI at /api/docs/ runs in Chromium under the app's Content Security Policy
(``script-src 'self'``, no inline script) with no network but ours."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_lists_the_operations_under_a_strict_csp(live_server, chromium):
    page = chromium.new_context(base_url=live_server.url).new_page()
    problems, foreign = [], []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("request", lambda request: request.url.startswith(live_server.url) or foreign.append(request.url))

    response = page.goto("/api/docs/")
    policy = response.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()

    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "/api/studies/" in [path.replace("\u200b", "") for path in paths]
    assert problems == []  # a blocked script would be reported here as a CSP violation
    assert foreign == []
