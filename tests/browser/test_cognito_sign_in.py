"""The console's AWS sign-in in a real browser: Cognito (moto's server) then the API.

What stands where, and why:

- **Cognito** is moto's server on loopback (the session's ``aws`` fixture). moto implements
  what the page calls, ``InitiateAuth`` with ``USER_PASSWORD_AUTH`` answering the
  ``SOFTWARE_TOKEN_MFA`` challenge and ``RespondToAuthChallenge`` checking the TOTP code
  (with ``MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true``; without it any code passes), so
  the pool here requires MFA as the template's does. moto's TOTP check reads the clock
  with no tolerance window; its clock is frozen so the code the "authenticator app"
  computes is always the current one (no flakiness at a 30-second boundary).
- **CORS**: the page (cardline's origin) calls moto's origin, as on AWS it calls
  ``cognito-idp.<region>.amazonaws.com``, which answers CORS for browser clients. moto's
  server answers CORS too (flask-cors), so the browser makes the same cross-origin calls
  (preflight included) as it would on AWS: no proxy, nothing the page would not do there.
  The CSP is real as well: the page may connect to moto only because the backoffice's
  ``connect-src`` names exactly that endpoint.
- **API Gateway's Cognito authorizer** is stood in for by an authenticator on the local
  App that does what the authorizer does: the ID token's signature against the pool's
  published key, its issuer, audience, use and expiry; the caller is its ``sub``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Request, expect

from cardline.cde import roles
from cardline.cde.errors import AuthenticationFailed
from cardline.cde.http.app import App, Caller
from cardline.cde.http.messages import Request as HttpRequest
from cardline.http.console_routes import CognitoSignIn, console_routes
from cardline.local import build_local, serve_in_background
from tests.aws_support import REGION, Aws
from tests.browser.conftest import Console, _console_line, _save
from tests.cards import CVV, VISA, future_expiry
from tests.conftest import Client, Running

pytestmark = pytest.mark.slow

EMAIL = "ada@example.com"
PASSWORD = "Correct-Horse-Battery-9"
FROZEN = 1_796_000_000  # moto's TOTP clock, and the instant the test's authenticator app uses


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def authenticator_code(secret: str, at: int = FROZEN) -> str:
    """What an authenticator app shows (RFC 6238: HMAC-SHA1, 30 s, 6 digits)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", at // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


class CognitoAuthorizer:
    """Stands in for API Gateway's Cognito user-pool authorizer in front of the backoffice."""

    def __init__(self, jwks: dict[str, Any], issuer: str, client_id: str) -> None:
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

        self._keys = {
            key["kid"]: RSAPublicNumbers(
                int.from_bytes(_b64(key["e"]), "big"), int.from_bytes(_b64(key["n"]), "big")
            ).public_key()
            for key in jwks["keys"]
        }
        self._issuer = issuer
        self._client_id = client_id
        self.refuse_all = False  # as once the ID token has expired

    def authenticate(self, request: HttpRequest) -> Caller:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
        from cryptography.hazmat.primitives.hashes import SHA256

        header = request.header("authorization") or ""
        if self.refuse_all or not header.startswith("Bearer "):
            raise AuthenticationFailed("No valid ID token came with the request")
        token = header.removeprefix("Bearer ")
        try:
            head, body, signature = token.split(".")
            key = self._keys[json.loads(_b64(head))["kid"]]
            key.verify(_b64(signature), f"{head}.{body}".encode(), PKCS1v15(), SHA256())
            claims = json.loads(_b64(body))
        except (ValueError, KeyError, InvalidSignature):
            raise AuthenticationFailed("No valid ID token came with the request") from None
        if (
            claims.get("iss") != self._issuer
            or claims.get("aud") != self._client_id
            or claims.get("token_use") != "id"
            or claims.get("exp", 0) <= time.time()
        ):
            raise AuthenticationFailed("No valid ID token came with the request")
        return Caller(str(claims["sub"]), roles.highest(claims.get("cognito:groups") or ()))


@dataclass
class Pool:
    aws: Aws
    pool_id: str
    client_id: str

    def add_operator(self, email: str, *, totp: bool = True) -> str | None:
        """An operator with a permanent password and, unless told, an enrolled authenticator
        app; answers the app's secret. (moto answers USER_PASSWORD_AUTH with tokens for a
        user without TOTP even when the pool requires MFA, where Cognito would ask for
        MFA_SETUP; the enrolment below therefore goes through an access token.)"""
        client = self.aws.client("cognito-idp")
        client.admin_create_user(UserPoolId=self.pool_id, Username=email, MessageAction="SUPPRESS")
        if not totp:
            return None
        client.admin_set_user_password(
            UserPoolId=self.pool_id, Username=email, Password=PASSWORD, Permanent=True
        )
        first = client.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )
        access = first["AuthenticationResult"]["AccessToken"]
        secret: str = client.associate_software_token(AccessToken=access)["SecretCode"]
        verified = client.verify_software_token(
            AccessToken=access, UserCode=authenticator_code(secret)
        )
        assert verified["Status"] == "SUCCESS"
        client.admin_set_user_mfa_preference(
            UserPoolId=self.pool_id,
            Username=email,
            SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
        )
        return secret


class _FrozenClock:
    @staticmethod
    def time() -> float:
        return float(FROZEN)


@pytest.fixture
def pool(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Pool:
    import moto.cognitoidp.utils

    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
    monkeypatch.setattr(moto.cognitoidp.utils, "time", _FrozenClock)
    client = aws.client("cognito-idp")
    # As the template's OperatorPool and OperatorPoolClient.
    pool_id = client.create_user_pool(
        PoolName="operators",
        MfaConfiguration="ON",
        UsernameAttributes=["email"],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]["Id"]
    client.set_user_pool_mfa_config(
        UserPoolId=pool_id,
        SoftwareTokenMfaConfiguration={"Enabled": True},
        MfaConfiguration="ON",
    )
    client_id = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="agent-console",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return Pool(aws, pool_id, client_id)


@dataclass
class CognitoConsole(Console):
    authorizer: CognitoAuthorizer | None = None
    authorizations: list[str] | None = None  # Authorization headers the page sent to /v1/

    def sign_in_with_password(self, password: str = PASSWORD) -> None:
        self.page.get_by_label("Email").fill(EMAIL)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def cognito_console(
    browser: Browser,
    pool: Pool,
    data_dir: Path,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> Iterator[CognitoConsole]:
    with urllib.request.urlopen(
        f"{pool.aws.endpoint}/{pool.pool_id}/.well-known/jwks.json"
    ) as answer:
        jwks = json.loads(answer.read())
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}"
    authorizer = CognitoAuthorizer(jwks, issuer, pool.client_id)
    stack = build_local(data_dir, environ={})
    # Every route as on AWS behind the authorizer; the console in its Cognito mode,
    # pointed at moto instead of cognito-idp.<region>.amazonaws.com.
    sign_in = CognitoSignIn(REGION, pool.client_id, pool.aws.endpoint)
    routes = [route for route in stack.app.routes if not route.static]
    # As the backoffice with the IVR sessions table (param ivr_sessions) or without it.
    ivr_sessions = bool(getattr(request, "param", {}).get("ivr_sessions"))
    app = App(
        [*routes, *console_routes(sign_in, ivr_sessions=ivr_sessions)], authorizer, stack.sink
    )
    server = serve_in_background(app)
    running = Running(stack, server.url, "", Client(server.url, None, artifacts / "http.log"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.clock.install()  # the page's timers run on a clock the test moves
    shown = CognitoConsole(page, running, authorizer=authorizer, authorizations=[])
    page.on("console", lambda message: shown.messages.append(_console_line(message)))
    page.on("pageerror", lambda error: shown.messages.append(f"pageerror: {error}"))
    page.on("response", lambda response: shown.responses.append(response))

    def on_request(sent: Request) -> None:
        if "/v1/" in sent.url and shown.authorizations is not None:
            shown.authorizations.append(sent.headers.get("authorization", ""))

    page.on("request", on_request)
    page.goto(server.url + "/")
    try:
        yield shown
    finally:
        _save(shown, artifacts / "browser", request.node.name)
        context.close()
        server.stop()
        stack.close()


def test_an_agent_signs_in_with_password_then_authenticator_code_and_takes_a_payment(
    cognito_console: CognitoConsole, pool: Pool
) -> None:
    page = cognito_console.page
    secret = pool.add_operator(EMAIL)
    assert secret is not None
    expect(page.get_by_label("Email")).to_be_focused()
    expect(page.get_by_label("Operator key")).to_be_hidden()

    cognito_console.sign_in_with_password()
    expect(page.get_by_label("Authentication code")).to_be_focused()
    expect(page.get_by_label("Password")).to_be_hidden()
    expect(page.locator("#password")).to_have_value("")  # not kept past step one

    right = authenticator_code(secret)
    page.get_by_label("Authentication code").fill("000000" if right != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#mfa-code-error")).to_contain_text("This code is not right.")
    expect(page.locator("#nav")).to_be_hidden()

    page.get_by_label("Authentication code").fill(right)
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Take a payment").wait_for()
    expect(page.get_by_label("Amount", exact=True)).to_be_focused()

    # The API calls carry the ID token as a bearer token, as the authorizer takes it.
    assert cognito_console.authorizations
    token = cognito_console.authorizations[0].removeprefix("Bearer ")
    claims = json.loads(_b64(token.split(".")[1]))
    assert (claims["token_use"], claims["aud"], claims["email"]) == ("id", pool.client_id, EMAIL)

    cognito_console.fill_payment(VISA, CVV, expiry=future_expiry(), reference="order-2001")
    page.get_by_role("button", name="Charge card").click()
    receipt = cognito_console.receipt_text()
    assert "Approved: 12.50 USD charged." in receipt
    assert "Visa •••• 1881" in receipt

    # The credential lives in the page's memory only: no storage, cookie, URL or DOM holds it.
    kept = page.evaluate(
        """() => JSON.stringify({
            local: Object.entries(localStorage), session: Object.entries(sessionStorage),
            cookie: document.cookie, url: location.href,
            values: [...document.querySelectorAll('input')].map(e => e.value),
        })"""
    )
    for secret_text in (token, PASSWORD):
        assert secret_text not in kept
        assert secret_text not in page.content()
    state = json.loads(kept)
    assert (state["local"], state["session"], state["cookie"]) == ([], [], "")
    assert state["url"] == cognito_console.running.url + "/"
    assert page.context.cookies() == []
    assert all(token not in line for line in cognito_console.messages)


def test_the_csp_lets_the_page_reach_its_cognito_endpoint_and_no_other(
    cognito_console: CognitoConsole, pool: Pool
) -> None:
    page = cognito_console.page
    csp = cognito_console.responses[0].headers["content-security-policy"]
    assert f"connect-src 'self' {pool.aws.endpoint};" in csp
    expect(page.get_by_label("Email")).to_be_visible()
    page.evaluate(
        """() => {
            window.violations = [];
            document.addEventListener('securitypolicyviolation',
                e => window.violations.push([e.effectiveDirective, e.blockedURI]));
            fetch('http://127.0.0.2:9/elsewhere').catch(() => {});
        }"""
    )
    page.wait_for_function("() => window.violations.length >= 1")
    violations = page.evaluate("() => window.violations")
    assert ["connect-src", "http://127.0.0.2:9/elsewhere"] in violations


def test_a_wrong_password_is_refused_next_to_the_password(
    cognito_console: CognitoConsole, pool: Pool
) -> None:
    page = cognito_console.page
    pool.add_operator(EMAIL)
    cognito_console.sign_in_with_password("Not-The-Password-1")
    expect(page.locator("#password-error")).to_have_text("The email or password is not right.")
    expect(page.get_by_label("Password")).to_be_focused()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#nav")).to_be_hidden()


def test_an_account_not_set_up_yet_is_told_where_to_finish(
    cognito_console: CognitoConsole, pool: Pool
) -> None:
    page = cognito_console.page
    pool.add_operator(EMAIL, totp=False)  # a temporary password: NEW_PASSWORD_REQUIRED
    client = pool.aws.client("cognito-idp")
    client.admin_set_user_password(
        UserPoolId=pool.pool_id, Username=EMAIL, Password=PASSWORD, Permanent=False
    )
    cognito_console.sign_in_with_password()
    expect(page.locator("#password-error")).to_contain_text("not set up yet")
    expect(page.locator("#password-error")).to_contain_text("First operators")
    expect(page.locator("#nav")).to_be_hidden()


def _signed_in(cognito_console: CognitoConsole, pool: Pool) -> None:
    secret = pool.add_operator(EMAIL)
    assert secret is not None
    cognito_console.sign_in_with_password()
    cognito_console.page.get_by_label("Authentication code").fill(authenticator_code(secret))
    cognito_console.page.get_by_role("button", name="Verify").click()
    cognito_console.page.get_by_role("heading", name="Take a payment").wait_for()


def test_the_session_ends_when_the_id_token_expires(
    cognito_console: CognitoConsole, pool: Pool
) -> None:
    page = cognito_console.page
    _signed_in(cognito_console, pool)
    page.get_by_label("Card number").fill(VISA)
    page.clock.fast_forward("01:00:01")  # moto's ID tokens last an hour (the template's 15 min)
    expect(page.locator("#password-error")).to_have_text("Your session has ended. Sign in again.")
    expect(page.get_by_label("Email")).to_be_focused()
    expect(page.locator("#nav")).to_be_hidden()
    expect(page.locator("#card-number")).to_have_value("")


def test_a_token_the_gateway_refuses_signs_the_agent_out(
    cognito_console: CognitoConsole, pool: Pool
) -> None:
    page = cognito_console.page
    _signed_in(cognito_console, pool)
    assert cognito_console.authorizer is not None
    cognito_console.authorizer.refuse_all = True  # expired or revoked: 401 from the gateway
    page.get_by_role("button", name="Payments").click()
    expect(page.locator("#password-error")).to_have_text("Your session has ended. Sign in again.")
    expect(page.locator("#nav")).to_be_hidden()


def _signed_in(cognito_console: CognitoConsole, pool: Pool) -> None:
    secret = pool.add_operator(EMAIL)
    assert secret is not None
    cognito_console.sign_in_with_password()
    cognito_console.page.get_by_label("Authentication code").fill(authenticator_code(secret))
    cognito_console.page.get_by_role("button", name="Verify").click()
    cognito_console.page.get_by_role("heading", name="Take a payment").wait_for()


@pytest.mark.parametrize("cognito_console", [{"ivr_sessions": True}], indirect=True)
def test_on_aws_with_the_ivr_deployed_the_agent_starts_a_keypad_payment(
    cognito_console: CognitoConsole, pool: Pool
) -> None:
    page = cognito_console.page
    _signed_in(cognito_console, pool)
    page.get_by_role("button", name="Caller keys the card").click()
    expect(page.locator("#ivr-unavailable")).to_be_hidden()
    page.get_by_label("Caller's contact id").fill("0f8fad5b-d9cb-469f-a165-70867728950e")
    page.get_by_label("Amount to take").fill("9.00")
    page.get_by_label("Name on the card").fill("Ada Lovelace")
    page.get_by_role("button", name="Start keypad payment").click()
    expect(page.locator("#ivr-outcome")).to_have_text("Waiting for the caller to key the card…")
    expect(page.get_by_role("list", name="The caller's progress")).to_be_visible()
    expect(page.locator("#ivr-attributes dt")).to_have_text(["cardline_session_id"])
    # The session was started with the ID token, as API Gateway's authorizer takes it.
    assert cognito_console.authorizations
    assert all(sent.startswith("Bearer ") for sent in cognito_console.authorizations)


def test_on_aws_without_the_ivr_the_panel_is_a_note(
    cognito_console: CognitoConsole, pool: Pool
) -> None:
    page = cognito_console.page
    _signed_in(cognito_console, pool)
    page.get_by_role("button", name="Caller keys the card").click()
    expect(page.locator("#ivr-unavailable")).to_be_visible()
    expect(page.locator("#ivr-form")).to_be_hidden()
