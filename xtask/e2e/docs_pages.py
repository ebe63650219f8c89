"""The docs pages in a real browser: `cargo xtask e2e` runs this against a freshly started release server.

Headless Chromium (Debian's, never a downloaded one), driven by Playwright, with every request that does
not go to the server aborted — the machine has no outside network, and the pages must not need one:

1. `/docs` (Swagger UI) renders the operation list;
2. "Authorize" with a registered user's email and password succeeds through the OAuth2 password form
   (`POST /api/v1/auth/login/oauth`);
3. "Try it out" on `GET /api/v1/users/me` shows a 200 with that user;
4. `/redoc` renders the API description;
5. a login from a new device sends an alert (the log mail backend writes it to the server log): its "not
   me" link opens a page naming the device, the GET ends nothing, and the page's button ends that
   session (its access token gets 401, the other session's still works).

Any page error, Content-Security-Policy violation or attempted outside request fails the run. Screenshots
go to the folder given in LATCHKEY_E2E_SCREENSHOTS.

Environment: LATCHKEY_E2E_BASE_URL (the server), LATCHKEY_E2E_SCREENSHOTS (a folder), LATCHKEY_E2E_CHROMIUM
(the browser binary), LATCHKEY_E2E_PROFILE (a fresh, empty user-data directory), LATCHKEY_E2E_SERVER_LOG
(the server's log, where the alert email is captured).
"""

import json
import os
import re
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect, sync_playwright

BASE = os.environ["LATCHKEY_E2E_BASE_URL"].rstrip("/")
SHOTS = Path(os.environ["LATCHKEY_E2E_SCREENSHOTS"])
CHROMIUM = os.environ.get("LATCHKEY_E2E_CHROMIUM", "/usr/bin/chromium")
PROFILE = os.environ["LATCHKEY_E2E_PROFILE"]
SERVER_LOG = Path(os.environ["LATCHKEY_E2E_SERVER_LOG"])
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)

# The flags a closed network needs (Chromium otherwise keeps trying Google's services), plus the sandbox
# and GPU ones a root, display-less CI machine needs.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PASSWORD = "E2e-Browser-Pass-9!"

# ReDoc's bundle links its "API docs by Redocly" badge image from Redocly's CDN. The docs CSP blocks it, as
# it blocks everything from elsewhere; the page needs nothing else from outside. That one expected
# violation is the only one tolerated.
EXPECTED_BLOCKED = ("https://cdn.redoc.ly/redoc/logo-mini.svg",)
TIMEOUT_MS = 30_000


class Problems:
    """What the browser reported that must not happen: page errors, CSP violations, outside requests."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda e: self.items.append(f"page error on {page.url}: {e}"))

        def console(msg) -> None:
            text = msg.text
            if any(url in text for url in EXPECTED_BLOCKED):
                return
            if msg.type == "error" or "Content Security Policy" in text or "Content-Security-Policy" in text:
                self.items.append(f"console {msg.type} on {page.url}: {text}")

        page.on("console", console)


def step(name: str) -> None:
    print(f"e2e: {name}", flush=True)


def shot(page: Page, name: str) -> None:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    print(f"e2e:   screenshot {path}", flush=True)


def register(page: Page) -> str:
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
    res = page.request.post(
        f"{BASE}/api/v1/auth/register",
        data=json.dumps({"email": email, "password": PASSWORD, "first_name": "Eve", "last_name": "Browser"}),
        headers={"content-type": "application/json"},
    )
    assert res.status == 201, f"registering {email} answered {res.status}: {res.text()}"
    assert res.headers.get("x-request-id"), "the registration response has no X-Request-Id"
    return email


def swagger(page: Page, email: str) -> None:
    step("/docs renders the operation list")
    response = page.goto(f"{BASE}/docs", wait_until="load")
    assert response is not None and response.status == 200, "GET /docs did not answer 200"
    assert response.headers.get("x-request-id"), "GET /docs has no X-Request-Id"
    me = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/api/v1/users/me"])')
    expect(me).to_be_visible(timeout=TIMEOUT_MS)
    count = page.locator(".opblock").count()
    assert count >= 15, f"only {count} operations listed"
    expect(page.locator(".opblock-post .opblock-summary-path[data-path='/api/v1/auth/login']")).to_be_visible()
    print(f"e2e:   {count} operations listed", flush=True)
    shot(page, "1-docs-operations")

    step("Authorize through the OAuth2 password form")
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    expect(dialog).to_be_visible(timeout=TIMEOUT_MS)
    dialog.locator("#oauth_username").fill(email)
    dialog.locator("#oauth_password").fill(PASSWORD)
    shot(page, "2-authorize-form")
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/login/oauth")) as token:
        dialog.locator(".auth-btn-wrapper button.authorize").click()
    status = token.value.status
    assert status == 200, f"the OAuth2 form endpoint answered {status}: {token.value.text()}"
    assert "access_token" in token.value.json(), "the token response has no access_token"
    # Swagger UI swaps the form for "Logout" once it holds the token.
    expect(dialog.locator(".auth-btn-wrapper button.authorize", has_text="Logout")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    expect(dialog).to_contain_text("Authorized")
    shot(page, "3-authorized")
    dialog.locator(".auth-btn-wrapper button.btn-done").click()
    expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)

    step('"Try it out" on GET /api/v1/users/me')
    me.locator(".opblock-summary-control").click()
    me.locator("button.try-out__btn").click()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/users/me")) as answer:
        me.locator("button.execute").click()
    assert answer.value.status == 200, f"GET /users/me from Swagger UI answered {answer.value.status}"
    assert answer.value.request.headers.get("authorization", "").startswith("Bearer "), "no bearer token sent"
    live = me.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status").first).to_have_text("200", timeout=TIMEOUT_MS)
    expect(live.locator("tbody .response-col_description").first).to_contain_text(email)
    live.scroll_into_view_if_needed()
    shot(page, "4-users-me-200")


def redoc(page: Page) -> None:
    step("/redoc renders (offline: its script comes from the server)")
    response = page.goto(f"{BASE}/redoc", wait_until="load")
    assert response is not None and response.status == 200, "GET /redoc did not answer 200"
    expect(page.locator(".api-info h1")).to_contain_text("Latchkey", timeout=TIMEOUT_MS)
    menu = page.locator('[role="menuitem"], .menu-content li')
    expect(menu.first).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("/api/v1/users/me").first).to_be_attached(timeout=TIMEOUT_MS)
    print(f"e2e:   {menu.count()} menu entries", flush=True)
    shot(page, "5-redoc")


def login(page: Page, email: str, user_agent: str) -> str:
    res = page.request.post(
        f"{BASE}/api/v1/auth/login",
        data=json.dumps({"email": email, "password": PASSWORD}),
        headers={"content-type": "application/json", "user-agent": user_agent},
    )
    assert res.status == 200, f"login answered {res.status}: {res.text()}"
    return res.json()["access_token"]


def users_me(page: Page, token: str) -> int:
    return page.request.get(f"{BASE}/api/v1/users/me", headers={"authorization": f"Bearer {token}"}).status


def captured_link(device: str) -> str:
    """The "not me" link of the alert email about `device`, which the log mail backend wrote to the server
    log (the first login from the browser, in Swagger UI, may have been alerted too)."""
    pattern = re.compile(re.escape(BASE) + r"/api/v1/auth/not-me\?token=[A-Za-z0-9_.-]+")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = SERVER_LOG.read_text(errors="replace")
        at = text.rfind(f"Device:   {device}")
        if at >= 0 and (found := pattern.search(text, at)):
            return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no alert email about {device} with a not-me link in {SERVER_LOG}")


def not_me(page: Page, email: str) -> None:
    step("a login from a new device sends an alert; its link's page names the device")
    laptop = login(page, email, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36")
    phone = login(page, email, IPHONE)
    link = captured_link("Mobile Safari on iOS")
    response = page.goto(link, wait_until="load")
    assert response is not None and response.status == 200, f"GET {link} did not answer 200"
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or ""), "no strict CSP"
    expect(page.locator("h1")).to_have_text("Was this you?")
    expect(page.locator("#device")).to_have_text("Mobile Safari on iOS")
    expect(page.locator("#ip")).to_have_text("127.0.0.1")
    assert page.locator("script").count() == 0, "the page has a script"
    shot(page, "6-not-me-page")
    assert users_me(page, phone) == 200, "opening the link ended the session"

    step('"This was not me" ends that session, and only that one')
    with page.expect_navigation():
        page.get_by_role("button", name="This was not me: end that session").click()
    expect(page.locator("h1")).to_have_text("Session ended")
    expect(page.locator("#done")).to_contain_text("reset your password")
    shot(page, "7-not-me-done")
    assert users_me(page, phone) == 401, "the disowned session still works"
    assert users_me(page, laptop) == 200, "the other session ended too"
    # Asked outside the page: a 400 navigation would be reported as a console error.
    assert page.request.get(link).status == 400, "a used link still opens its page"


def main() -> int:
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = Problems()
    outside: list[str] = []
    own_origin = urlsplit(BASE).netloc

    def only_the_server(route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or parts.netloc == own_origin:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    started = time.monotonic()
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            PROFILE,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            context.route("**/*", only_the_server)
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            problems.watch(page)
            email = register(page)
            swagger(page, email)
            redoc(page)
            not_me(page, email)
        except Exception:
            try:
                shot(page, "failure")
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            raise
        finally:
            context.close()

    problems.items.extend(f"outside request (aborted): {u}" for u in outside)
    if problems.items:
        print("e2e: the browser reported problems:", file=sys.stderr)
        for item in problems.items:
            print(f"  - {item}", file=sys.stderr)
        return 1
    print(f"e2e: all checks passed in {time.monotonic() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
