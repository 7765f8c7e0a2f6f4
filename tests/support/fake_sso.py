#!/usr/bin/env python3
"""A local fake of IAM Identity Center (SSO OIDC, the portal, /authorize) for vault's tests.

This file owns the fake and nothing else; it must never listen anywhere but 127.0.0.1.
moto has neither service (see ../shared/notes/sso.md section 6), so this is a small
stdlib HTTP server speaking the same wire protocol as AWS:

SSO OIDC (restJson, what aws-sdk-ssooidc and botocore send):
* ``POST /client/register``: a client id/secret, ``clientSecretExpiresAt`` (epoch s).
* ``POST /device_authorization``: device code, user code, verification URIs.
* ``POST /token``: grants ``urn:ietf:params:oauth:grant-type:device_code``,
  ``authorization_code`` (PKCE S256 checked, redirect URI checked, single use) and
  ``refresh_token`` (rotating: the old refresh token stops working). A refresh token is
  issued only to clients registered with scopes, as AWS does.
  Errors: ``AuthorizationPendingException``, ``SlowDownException``,
  ``ExpiredTokenException``, ``AccessDeniedException``, ``InvalidGrantException``,
  ``InvalidClientException`` (unknown or expired registration).
* ``GET /authorize``: approves at once and answers 302 to
  ``redirect_uri?code=...&state=...`` (or ``?error=access_denied&state=...``).

The portal (bearer header ``x-amz-sso_bearer_token``):
* ``GET /federation/credentials?role_name=&account_id=``: role credentials with the
  expiration in epoch **milliseconds**; 401 ``UnauthorizedException`` for an unknown,
  expired or logged-out token; 403 for an unassigned account/role.
* ``GET /assignment/accounts``, ``GET /assignment/roles``: paged by ``max_result``
  (default 2 here, so every client must follow ``nextToken``).
* ``POST /logout``.
* Throttling, as the real portal's documented limit of about 20 requests a second: with
  ``rate_limit`` set, a portal request that is more than ``rate_limit`` in the last second
  (a sliding window over every portal request that arrived, answered or refused) gets HTTP
  429 ``TooManyRequestsException``; ``throttle_next: n`` refuses the next n portal requests
  so. Refusals are counted as ``TooManyRequests`` in ``/_fake/calls``.

Role credentials are real for the local STS when ``--moto-state`` names vault_moto.py's
state file: each GetRoleCredentials is a moto AssumeRole (signed with jane's keys) of the
role ``AWSReservedSSO_<role name>``, made on first use with an allow-all policy, as AWS
names permission-set roles; so a role chained on top and ``aws sts get-caller-identity``
work.

Test controls (JSON):
* ``GET /_fake/calls``: ``{"RegisterClient": n, "CreateToken.device_code": n, ...}``.
* ``GET /_fake/log``: every request as ``{"op", "body"/"query", "bearer"}`` in order.
* ``POST /_fake/config``: knobs, e.g. ``{"expires_in": 600, "pending_polls": 2,
  "device_errors": ["SlowDownException"], "deny": true, "registration_seconds": 5,
  "portal_401": 1, "token_delay": 0.5}``; ``{"verification_uri_complete": "--x"}`` makes
  StartDeviceAuthorization answer that ``verificationUriComplete`` as it is (a hostile or
  broken server, for the browser-opener tests; ``null`` restores the default). The organisation: ``"accounts": 700`` makes
  accounts ``100000000000``... named ``Account N``, each with ``ReadOnly`` and every other one
  with ``Admin`` too (0: the three built-in accounts); ``"hostile": true`` adds what a
  hostile portal could send: account IDs and role names with line ends, config syntax,
  terminal escapes, spaces, over-long names, and an account name holding a section.
* ``POST /_fake/issue``: ``{"scopes": true}`` mints a token as a login would
  (registration + token) and returns ``{accessToken, refreshToken?, clientId,
  clientSecret, expiresIn, registrationExpiresAt}``, for tests that start logged in.
* ``POST /_fake/expire``: ``{"accessToken": t}`` makes the portal refuse that token.
* ``POST /_fake/expire_clients``: every registration so far expires (InvalidClientException).

Usage: ``fake_sso.py [--moto-state PATH]``; prints ``READY http://127.0.0.1:PORT`` and
runs until its stdin reaches EOF or SIGTERM. check_fake_sso.py proves it with boto3.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import secrets
import sys
import threading
import time
import urllib.parse
from typing import Any

import fake_http
from fake_http import JsonHandler

ACCOUNTS = [
    ("123456789012", "Development", "dev@example.com", ["readonly", "admin"]),
    ("210987654321", "Production", "prod@example.com", ["readonly"]),
    ("333333333333", "Sandbox", "sandbox@example.com", ["readonly", "poweruser", "admin"]),
]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# What a portal that is not AWS's could send (security review 2, finding 2).
HOSTILE_ROLE = "ReadOnly\n\n[default]\ncredential_process = sh -c 'echo pwned > pwned'\n#"
HOSTILE_ROLES = [HOSTILE_ROLE, "Read Only", "x" * 65, "admin\x1b]0;owned\x07", "ops;#x", ""]
HOSTILE_ACCOUNTS = [
    ("123456789012\n[default]\ncredential_process = sh -c 'echo pwned > pwned'", "Evil", "e@example.com", ["readonly"]),
    ("12345", "Short", "s@example.com", ["readonly"]),
    ("444444444444", "Shady\n[default]\nregion = evil", "shady@example.com", ["readonly"]),
]
PORTAL_OPS = {"GetRoleCredentials", "ListAccounts", "ListAccountRoles", "Logout"}


class Fake:
    def __init__(self, moto_state: dict[str, Any] | None) -> None:
        self.lock = threading.Lock()
        self.moto = moto_state
        self.calls: dict[str, int] = {}
        self.log: list[dict[str, Any]] = []
        self.clients: dict[str, dict[str, Any]] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}  # access token -> {expires, client}
        self.refresh: dict[str, str] = {}  # refresh token -> client id
        self.config: dict[str, Any] = {
            "expires_in": 8 * 3600,
            "pending_polls": 0,
            "device_errors": [],
            "deny": False,
            "device_expired": False,
            "registration_seconds": 90 * 86400,
            "portal_401": 0,
            "token_delay": 0.0,
            "interval": 1,
            "page_size": 2,
            "verification_uri_complete": None,
            "accounts": 0,
            "hostile": False,
            "rate_limit": 0,
            "throttle_next": 0,
        }
        self.portal_times: collections.deque[float] = collections.deque()

    def count(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1

    def accounts(self) -> list[tuple[str, str, str, list[str]]]:
        """The organisation as configured: ``(id, name, email, roles)``."""
        n = int(self.config["accounts"])
        if n:
            out = [
                (str(100000000000 + i), f"Account {i}", f"a{i}@example.com", ["ReadOnly", "Admin"][: 1 + (i % 2 == 0)])
                for i in range(n)
            ]
        else:
            out = [(a, name, e, list(r)) for a, name, e, r in ACCOUNTS]
        if self.config["hostile"]:
            out[0][3].extend(HOSTILE_ROLES)
            out.extend(HOSTILE_ACCOUNTS)
        return out

    def throttle(self) -> None:
        """HTTP 429 for a portal request over the limit (see the module doc)."""
        now = time.monotonic()
        self.portal_times.append(now)
        while self.portal_times and self.portal_times[0] <= now - 1.0:
            self.portal_times.popleft()
        limit = int(self.config["rate_limit"])
        over = limit and len(self.portal_times) > limit
        if self.config["throttle_next"] > 0:
            self.config["throttle_next"] -= 1
            over = True
        if over:
            self.count("TooManyRequests")
            raise Failure(429, "TooManyRequestsException", None, "Rate exceeded")

    # ---- OIDC ------------------------------------------------------------------------

    def register(self, body: dict[str, Any]) -> dict[str, Any]:
        client_id = "client-" + secrets.token_hex(8)
        expires = int(time.time()) + int(self.config["registration_seconds"])
        self.clients[client_id] = {
            "secret": "secret-" + secrets.token_hex(16),
            "expires": expires,
            "scopes": body.get("scopes") or [],
            "grantTypes": body.get("grantTypes") or [],
            "redirectUris": body.get("redirectUris") or [],
            "issuerUrl": body.get("issuerUrl"),
            "clientName": body.get("clientName"),
        }
        return {
            "clientId": client_id,
            "clientSecret": self.clients[client_id]["secret"],
            "clientIdIssuedAt": int(time.time()),
            "clientSecretExpiresAt": expires,
        }

    def client(self, body: dict[str, Any]) -> dict[str, Any]:
        client = self.clients.get(body.get("clientId", ""))
        if client is None or client["secret"] != body.get("clientSecret"):
            raise Failure(401, "InvalidClientException", "invalid_client", "Invalid client")
        if client["expires"] <= time.time():
            raise Failure(401, "InvalidClientException", "invalid_client", "Client registration has expired")
        return client

    def device_authorization(self, body: dict[str, Any], host: str) -> dict[str, Any]:
        self.client(body)
        code = "device-" + secrets.token_hex(8)
        user_code = f"{secrets.randbelow(10000):04d}-{secrets.randbelow(10000):04d}"
        self.devices[code] = {
            "client": body["clientId"],
            "polls": 0,
            "errors": list(self.config["device_errors"]),
        }
        uri = f"http://{host}/device"
        return {
            "deviceCode": code,
            "userCode": user_code,
            "verificationUri": uri,
            # Since 2026 AWS no longer puts the code here (ByteNess#440).
            "verificationUriComplete": self.config["verification_uri_complete"]
            or f"{uri}?request_uri=req-{secrets.token_hex(4)}",
            "expiresIn": 600,
            "interval": int(self.config["interval"]),
        }

    def issue(self, client_id: str) -> dict[str, Any]:
        access = "access-" + secrets.token_hex(16)
        expires_in = int(self.config["expires_in"])
        self.tokens[access] = {"expires": time.time() + expires_in, "client": client_id}
        out: dict[str, Any] = {"accessToken": access, "tokenType": "Bearer", "expiresIn": expires_in}
        if self.clients[client_id]["scopes"]:
            refresh = "refresh-" + secrets.token_hex(16)
            self.refresh[refresh] = client_id
            out["refreshToken"] = refresh
        return out

    def token(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        grant = body.get("grantType")
        op = {
            DEVICE_GRANT: "CreateToken.device_code",
            "authorization_code": "CreateToken.authorization_code",
            "refresh_token": "CreateToken.refresh_token",
        }.get(grant, "CreateToken.other")
        self.count(op)
        self.client(body)
        if grant == DEVICE_GRANT:
            device = self.devices.get(body.get("deviceCode", ""))
            if device is None or device["client"] != body["clientId"]:
                raise Failure(400, "InvalidGrantException", "invalid_grant", "Invalid device code")
            if self.config["device_expired"]:
                raise Failure(400, "ExpiredTokenException", "expired_token", "Device code has expired")
            if self.config["deny"]:
                raise Failure(400, "AccessDeniedException", "access_denied", "Access denied")
            if device["errors"]:
                error = device["errors"].pop(0)
                raise Failure(400, error, error, error)
            device["polls"] += 1
            if device["polls"] <= int(self.config["pending_polls"]):
                raise Failure(400, "AuthorizationPendingException", "authorization_pending", "Authorization is pending")
            del self.devices[body["deviceCode"]]
            return op, self.issue(body["clientId"])
        if grant == "authorization_code":
            code = self.codes.pop(body.get("code", ""), None)
            if code is None or code["client"] != body["clientId"]:
                raise Failure(400, "InvalidGrantException", "invalid_grant", "Invalid authorization code")
            verifier = body.get("codeVerifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != code["challenge"]:
                raise Failure(400, "InvalidGrantException", "invalid_grant", "PKCE verification failed")
            if body.get("redirectUri") != code["redirect"]:
                raise Failure(400, "InvalidGrantException", "invalid_grant", "Redirect URI mismatch")
            return op, self.issue(body["clientId"])
        if grant == "refresh_token":
            owner = self.refresh.pop(body.get("refreshToken", ""), None)
            if owner is None or owner != body["clientId"]:
                raise Failure(400, "InvalidGrantException", "invalid_grant", "Invalid refresh token")
            return op, self.issue(owner)
        raise Failure(400, "UnsupportedGrantTypeException", "unsupported_grant_type", f"grant {grant!r}")

    def authorize(self, query: dict[str, str]) -> str:
        redirect = query.get("redirect_uri", "")
        state = query.get("state", "")
        client = self.clients.get(query.get("client_id", ""))
        if client is None or query.get("code_challenge_method") != "S256" or not redirect:
            return redirect + "?" + urllib.parse.urlencode({"error": "invalid_request", "state": state})
        if self.config["deny"]:
            return redirect + "?" + urllib.parse.urlencode({"error": "access_denied", "state": state})
        code = "code-" + secrets.token_hex(8)
        self.codes[code] = {
            "client": query["client_id"],
            "challenge": query.get("code_challenge", ""),
            "redirect": redirect,
            "scopes": query.get("scopes", ""),
        }
        return redirect + "?" + urllib.parse.urlencode({"code": code, "state": state})

    # ---- portal ----------------------------------------------------------------------

    def bearer(self, token: str | None) -> None:
        if self.config["portal_401"] > 0:
            self.config["portal_401"] -= 1
            self.tokens.pop(token or "", None)
        info = self.tokens.get(token or "")
        if info is None or info["expires"] <= time.time():
            raise Failure(401, "UnauthorizedException", None, "Session token not found or invalid")

    def role_credentials(self, query: dict[str, str]) -> dict[str, Any]:
        account, role = query.get("account_id", ""), query.get("role_name", "")
        if not any(a == account and role in roles for a, _, _, roles in self.accounts()):
            raise Failure(403, "ForbiddenException", None, "No access")
        return {"roleCredentials": mint(self.moto, role)}

    def page(self, items: list[dict[str, Any]], query: dict[str, str], key: str) -> dict[str, Any]:
        size = int(query.get("max_result") or self.config["page_size"])
        size = min(size, int(self.config["page_size"]))
        start = int(query.get("next_token") or 0)
        out: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            out["nextToken"] = str(start + size)
        return out


class Failure(Exception):
    def __init__(self, status: int, kind: str, error: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.error, self.message = status, kind, error, message


ROLES_MADE: set[str] = set()
ROLES_LOCK = threading.Lock()


def mint(moto: dict[str, Any] | None, role: str) -> dict[str, Any]:
    """Role credentials: real ones from moto's STS when it is there, else made-up ones.

    As AWS does, each permission set is a role named ``AWSReservedSSO_<name>`` (made in moto
    on first use, allowed everything, trusting the account), assumed for the user ``jane``.
    """
    if moto is None:
        return {
            "accessKeyId": "ASIA" + secrets.token_hex(8).upper(),
            "secretAccessKey": secrets.token_hex(20),
            "sessionToken": secrets.token_hex(32),
            "expiration": int((time.time() + 3600) * 1000),
        }
    import boto3  # only with moto: the fake alone needs nothing outside the stdlib

    jane = moto["users"]["jane"]
    keys = dict(
        endpoint_url=moto["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=jane["access_key_id"],
        aws_secret_access_key=jane["secret_access_key"],
    )
    account = moto.get("account", "123456789012")
    name = f"AWSReservedSSO_{role}"
    with ROLES_LOCK:
        if name not in ROLES_MADE:
            iam = boto3.client("iam", **keys)
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
                ],
            }
            try:
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=43200)
                iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:aws:iam::{account}:policy/vault-test-allow-all")
            except iam.exceptions.EntityAlreadyExistsException:
                pass
            ROLES_MADE.add(name)
    sts = boto3.client("sts", **keys)
    out = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{name}", RoleSessionName="jane")["Credentials"]
    return {
        "accessKeyId": out["AccessKeyId"],
        "secretAccessKey": out["SecretAccessKey"],
        "sessionToken": out["SessionToken"],
        "expiration": int(out["Expiration"].timestamp() * 1000),
    }


def handler(fake: Fake) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def fail(self, f: Failure) -> None:
            body: dict[str, Any] = {"message": f.message}
            if f.error:
                body = {"error": f.error, "error_description": f.message}
            self.send(f.status, body, {"x-amzn-ErrorType": f"{f.kind}:http://internal.amazon.com/coral/"})

        def body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            return json.loads(raw) if raw.strip() else {}

        def route(self, method: str) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            path = url.path
            try:
                body = self.body() if method == "POST" else {}
            except ValueError:
                self.send(400, {"message": "body is not JSON"})
                return
            bearer = self.headers.get("x-amz-sso_bearer_token")
            host = self.headers.get("Host", "127.0.0.1")
            ops = {
                ("POST", "/client/register"): "RegisterClient",
                ("POST", "/device_authorization"): "StartDeviceAuthorization",
                ("POST", "/token"): "CreateToken",
                ("GET", "/authorize"): "Authorize",
                ("GET", "/federation/credentials"): "GetRoleCredentials",
                ("GET", "/assignment/accounts"): "ListAccounts",
                ("GET", "/assignment/roles"): "ListAccountRoles",
                ("POST", "/logout"): "Logout",
            }
            op = ops.get((method, path))
            if path.startswith("/_fake/"):
                self.control(method, path, body)
                return
            if op is None:
                self.send(404, {"message": f"no route {method} {path}"})
                return
            if op == "CreateToken" and fake.config["token_delay"]:
                time.sleep(float(fake.config["token_delay"]))
            try:
                with fake.lock:
                    fake.log.append({"op": op, "body": body, "query": query, "bearer": bearer})
                    if op in PORTAL_OPS:
                        fake.throttle()
                    if op != "CreateToken":
                        fake.count(op)
                    if op == "RegisterClient":
                        self.send(200, fake.register(body))
                    elif op == "StartDeviceAuthorization":
                        self.send(200, fake.device_authorization(body, host))
                    elif op == "CreateToken":
                        _, out = fake.token(body)
                        self.send(200, out)
                    elif op == "Authorize":
                        self.send(302, None, {"Location": fake.authorize(query)})
                    elif op == "Logout":
                        fake.tokens.pop(bearer or "", None)
                        self.send(200, None)
                    else:
                        fake.bearer(bearer)
                        if op == "GetRoleCredentials":
                            self.send(200, fake.role_credentials(query))
                        elif op == "ListAccounts":
                            items = [
                                {"accountId": a, "accountName": n, "emailAddress": e}
                                for a, n, e, _ in fake.accounts()
                            ]
                            self.send(200, fake.page(items, query, "accountList"))
                        else:
                            roles = next((r for a, _, _, r in fake.accounts() if a == query.get("account_id")), [])
                            items = [{"roleName": r, "accountId": query.get("account_id")} for r in roles]
                            self.send(200, fake.page(items, query, "roleList"))
            except Failure as f:
                self.fail(f)

        def control(self, method: str, path: str, body: dict[str, Any]) -> None:
            with fake.lock:
                if path == "/_fake/calls":
                    self.send(200, fake.calls)
                elif path == "/_fake/log":
                    self.send(200, fake.log)
                elif path == "/_fake/clients":
                    self.send(200, fake.clients)
                elif path == "/_fake/config" and method == "POST":
                    fake.config.update(body)
                    self.send(200, fake.config)
                elif path == "/_fake/reset" and method == "POST":
                    fake.calls.clear()
                    fake.log.clear()
                    fake.portal_times.clear()
                    self.send(200, {})
                elif path == "/_fake/issue" and method == "POST":
                    scopes = ["sso:account:access"] if body.get("scopes", True) else []
                    registration = fake.register({"clientName": "test", "scopes": scopes})
                    out = fake.issue(registration["clientId"])
                    out.update(
                        clientId=registration["clientId"],
                        clientSecret=registration["clientSecret"],
                        registrationExpiresAt=registration["clientSecretExpiresAt"],
                    )
                    self.send(200, out)
                elif path == "/_fake/expire_clients" and method == "POST":
                    for client in fake.clients.values():
                        client["expires"] = 0
                    self.send(200, {})
                elif path == "/_fake/expire" and method == "POST":
                    fake.tokens.pop(body.get("accessToken", ""), None)
                    self.send(200, {})
                else:
                    self.send(404, {"message": f"no control {method} {path}"})

    return Handler


def main() -> int:
    return fake_http.main(
        __doc__.splitlines()[0],
        "vault_moto.py's state file: mint real role credentials there",
        lambda moto, base: handler(Fake(moto)),
    )


if __name__ == "__main__":
    sys.exit(main())
