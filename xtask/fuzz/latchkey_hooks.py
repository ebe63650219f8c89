"""schemathesis hooks of `cargo xtask fuzz-api` (see xtask/src/fuzz_api.rs).

Two things live here:

1. Authentication. Most operations get a normal user's bearer token; the administrative ones (every
   `/admin` route, the user-management routes `/users` and `/users/{user_id}`, and the organization
   routes that need a membership or a superuser) get a superuser's. Fuzzing ends sessions on purpose:
   logout, logout-all, revoking a session (the caller's own included), deactivating or deleting an
   account, changing a password, an admin revoking everyone's sessions... So after any call that changed
   something (a non-GET answered 2xx) or was refused as unauthenticated, both tokens are checked
   (`GET /users/me`) before their next use; a dead one is replaced by logging in again, and when that
   fails (the account was deactivated, deleted or given another password) by a new account: a
   registration for the normal user, `latchkey create-superuser` for the superuser. One worker runs
   (see fuzz_api.rs), so a token is never ended between that check and its use.

2. The named exceptions: the server's rules that the OpenAPI document cannot state in JSON Schema. Each
   is an `Exception` below, with its reason, that drops exactly the failures that rule causes (a check,
   an operation, a status and the error the server answered) and nothing else. The run prints how many
   failures each exception dropped.
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass

import requests
import schemathesis

BASE_URL = os.environ["LATCHKEY_FUZZ_BASE_URL"]
PASSWORD = os.environ["LATCHKEY_FUZZ_PASSWORD"]
ADMIN_EMAIL = os.environ["LATCHKEY_FUZZ_ADMIN_EMAIL"]

# Operations (by path) that get the superuser's token.
ADMIN_PATHS = re.compile(r"^/api/v1/(admin/.*|users|users/\{user_id\}|organizations/\{organization_id\}(/.*)?)$")

_http = requests.Session()
_serial = itertools.count(1)


def _api(method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return _http.request(method, f"{BASE_URL}{path}", headers=headers, timeout=30, **kwargs)


class Account:
    """One identity of the run and its current access token, renewed when a call may have ended it."""

    def __init__(self, role: str, email: str | None) -> None:
        self.role = role
        self.email = email
        self.token: str | None = None
        self.suspect = True
        self.logins = 0
        self.accounts = 0
        self.lock = threading.Lock()

    def current_token(self) -> str:
        with self.lock:
            if self.token is not None and self.suspect:
                if _api("GET", "/api/v1/users/me", self.token).status_code != 200:
                    self.token = None
            self.suspect = False
            if self.token is None:
                self.token = self._login() or self._new_account()
            return self.token

    def _login(self) -> str | None:
        if self.email is None:
            return None
        res = _api("POST", "/api/v1/auth/login", json={"email": self.email, "password": PASSWORD})
        if res.status_code != 200:
            return None
        self.logins += 1
        return res.json()["access_token"]

    def _new_account(self) -> str:
        self.email = f"fuzz-{self.role}-{next(_serial)}@example.com"
        if self.role == "user":
            res = _api(
                "POST", "/api/v1/auth/register", json={"email": self.email, "password": PASSWORD, "first_name": "Fuzz"}
            )
            if res.status_code != 201:
                raise RuntimeError(f"registering {self.email} answered {res.status_code}: {res.text}")
        else:
            env = {
                "PATH": os.environ.get("PATH", ""),
                "DATABASE_URL": os.environ["LATCHKEY_FUZZ_DATABASE_URL"],
                "SECRET_KEY": os.environ["LATCHKEY_FUZZ_SECRET_KEY"],
                "RUST_LOG": "warn",
            }
            subprocess.run(
                [os.environ["LATCHKEY_FUZZ_BINARY"], "create-superuser", "--email", self.email, "--password-stdin"],
                input=PASSWORD + "\n",
                text=True,
                env=env,
                check=True,
                capture_output=True,
            )
        self.accounts += 1
        token = self._login()
        if token is None:
            raise RuntimeError(f"the new account {self.email} cannot log in")
        return token


USER = Account("user", None)
ADMIN = Account("admin", ADMIN_EMAIL)


@schemathesis.auth(refresh_interval=None)
class Tokens:
    """The superuser's token on the administrative routes, the normal user's everywhere else."""

    def get(self, case, context):
        account = ADMIN if ADMIN_PATHS.match(context.operation.path) else USER
        return account.current_token()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def after_call(context, case, response):
    # Anything that changed state may have ended a session or an account; a 401 says one did.
    if (case.method.upper() != "GET" and response.status_code < 300) or response.status_code == 401:
        USER.suspect = True
        ADMIN.suspect = True


@dataclass
class RuleException:
    """A failure the server is right about but the document cannot rule out, and why."""

    name: str
    reason: str
    # The failure's class (the schemathesis check's outcome), e.g. RejectedPositiveData (ST202).
    failure: str
    # The operations, as "METHOD /path" (a regular expression matching the whole label).
    operation: str
    status: int
    # An error the server answered for this rule, as "CODE field: message" (a regular expression
    # searched in each entry of the envelope), or None for a success.
    error: str | None
    dropped: int = 0

    def matches(self, failure, case, response) -> bool:
        if type(failure).__name__ != self.failure or response.status_code != self.status:
            return False
        if not re.fullmatch(self.operation, f"{case.method.upper()} {case.operation.path}"):
            return False
        if self.error is None:
            return True
        content_type = response.headers.get("content-type") or ""
        if isinstance(content_type, list):  # schemathesis keeps every value of a header
            content_type = content_type[0] if content_type else ""
        if content_type.startswith("text/html"):
            # A page (the "not me" link's) says what is wrong in its text.
            return re.search(self.error, response.text) is not None
        try:
            errors = response.json().get("errors") or []
        except ValueError:
            return False
        return any(re.search(self.error, f"{e.get('code')} {e.get('field')}: {e.get('message')}") for e in errors)


NEW_PASSWORD = (
    r"POST /api/v1/auth/register|POST /api/v1/admin/users|PATCH /api/v1/users/(me|\{user_id\})"
    r"|PUT /api/v1/admin/users/\{user_id\}|PATCH /api/v1/users/me/password|POST /api/v1/auth/password-reset/confirm"
)

EXCEPTIONS: list[RuleException] = [
    RuleException(
        name="password character classes",
        reason="the policy wants a lower- and an upper-case letter and a digit as Unicode knows them, and one of "
        "the special characters; JSON Schema states the 12-character minimum, but 'contains one of each class' "
        "needs lookaheads or Unicode classes that the generators do not support",
        failure="RejectedPositiveData",
        operation=NEW_PASSWORD,
        status=422,
        error=r"^VAL_001 (password|new_password): Value error, Password (must contain|is too common)",
    ),
    RuleException(
        name="password reset token",
        reason="whether a reset token is valid is a secret the server keeps, not a shape: any string is "
        "well-formed, and an unknown one is 400 VAL_006 (the reference's answer)",
        failure="RejectedPositiveData",
        operation=r"POST /api/v1/auth/password-reset/confirm",
        status=400,
        error=r"^VAL_006 None: Invalid or expired password reset token$",
    ),
    RuleException(
        name="not-me token",
        reason="whether a new-device alert's token is valid is a secret the server keeps (signed, single use, "
        "7 days), not a shape: any string is well-formed, and an unknown one is 400 — VAL_006 in JSON, a page "
        "saying so for the link (GET) and its form",
        failure="RejectedPositiveData",
        operation=r"(GET|POST) /api/v1/auth/not-me",
        status=400,
        error=r"^VAL_006 None: Invalid or expired token$|This link is not valid",
    ),
    RuleException(
        name="email taken at registration",
        reason="an email can be registered once; uniqueness is the database's state, not the document's, and "
        "registration answers a taken one with the reference's 400 VAL_006, which does not say why",
        failure="RejectedPositiveData",
        operation=r"POST /api/v1/auth/register",
        status=400,
        error=r"^VAL_006 None: Registration failed",
    ),
    RuleException(
        name="email deliverability",
        reason="emails are checked as the reference's email-validator checks them: the document's `format: email` "
        "states the syntax, but not that special-use domains (.test, .local, .arpa, ...) are refused, nor the "
        "limits on the length of each part",
        failure="RejectedPositiveData",
        operation=r"POST /api/v1/auth/(register|login|login/oauth|password-reset/request)|POST /api/v1/admin/users",
        status=422,
        error=r"^VAL_001 (email|username): value is not a valid email address: .*(special-use or reserved name"
        r"|too long)",
    ),
    RuleException(
        name="current password with a new one",
        reason="a password in UserUpdate needs current_password on one's own account, and not when a superuser "
        "sets another user's (or any user's, through the admin API): the rule depends on who calls, and one "
        "UserUpdate schema serves them all",
        failure="RejectedPositiveData",
        operation=r"PATCH /api/v1/users/(me|\{user_id\})",
        status=422,
        error=r"^VAL_001 current_password: Value error, Current password is required",
    ),
    RuleException(
        name="free JSON objects",
        reason="preferences (users) and settings (organizations) hold any JSON object, but their strings and keys "
        "at any depth may hold no control character (preferences' values may hold tab, line feed and carriage "
        "return), and each is at most 16 KiB and 8 levels deep: a rule about every nested value and the "
        "serialized size, which JSON Schema could state only as a recursive schema the generators cannot draw "
        "from",
        failure="RejectedPositiveData",
        operation=r"(PATCH /api/v1/users/(me|\{user_id\})|PUT /api/v1/admin/users/\{user_id\}"
        r"|POST /api/v1/admin/organizations|PUT /api/v1/(admin/organizations/\{org_id\}"
        r"|organizations/\{organization_id\}))",
        status=422,
        error=r"^VAL_001 (preferences|settings)(\.[^:]*)?: ",
    ),
    RuleException(
        name="adding a member names a user",
        reason="the stateful phase links a new organization to POST .../members with a drawn user_id; the 404 "
        "names that user, not the organization, which exists",
        failure="EnsureResourceAvailability",
        operation=r"POST /api/v1/admin/organizations/\{org_id\}/members",
        status=404,
        error=r"^SYS_002 None: User [0-9a-f-]+ not found$",
    ),
    RuleException(
        name="soft-deleted users stay visible to superusers",
        reason="deleting a user is a soft delete: the account is kept (its email stays taken) and superusers "
        "still read and manage it — its profile, its (ended) sessions, activation, as the reference does "
        "(docs/api.md) — while it can no longer log in; OpenAPI cannot say that a DELETE is soft",
        failure="UseAfterFree",
        operation=r"[A-Z]+ /api/v1/(admin/users|users)/\{user_id\}(/[a-z-]+)?",
        status=200,
        error=None,
    ),
]


@schemathesis.hook
def filter_failure(context, failure, case, response):
    for exception in EXCEPTIONS:
        if exception.matches(failure, case, response):
            exception.dropped += 1
            return False
    return True


@atexit.register
def _report() -> None:
    out = sys.stderr
    print("\nlatchkey fuzz-api:", file=out)
    print(
        f"  normal user: {USER.logins} logins, {USER.accounts} accounts; "
        f"superuser: {ADMIN.logins} logins, {ADMIN.accounts} new accounts",
        file=out,
    )
    for exception in EXCEPTIONS:
        print(f"  exception {exception.name!r}: {exception.dropped} failures dropped ({exception.reason})", file=out)
