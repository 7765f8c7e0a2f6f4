#!/usr/bin/env python3
"""A local fake of the AWS Sign-In service (what ``aws login`` talks to) for vault's tests.

This file owns the fake and nothing else; it must never listen anywhere but 127.0.0.1.
moto has no Sign-In service, so this is a small HTTP server speaking the protocol as
../shared/notes/aws-login.md (sections 4 to 8) records it:

* ``GET /v1/authorize``: the browser step. Checks ``response_type=code``, the
  devtools client id, ``scope=openid``, ``code_challenge_method=SHA-256`` and the
  redirect URI (``http://127.0.0.1:<port>/oauth/callback`` for the same-device client,
  ``<this fake>/v1/sessions/confirmation`` for the cross-device one), then answers 302 to
  ``redirect_uri?code=...&state=...`` (or ``?error=...&state=...``).
* ``GET /v1/sessions/confirmation?code=&state=``: the cross-device page; it shows the
  code to paste, base64 of ``state=<state>&code=<code>``, on a line ``CODE <pasted>``.
* ``POST /v1/token`` (``CreateOAuth2Token``, rest-json, the JSON object is the body):
  * ``authorization_code``: the code is single-use, PKCE ``SHA-256`` is checked
    (``base64url(sha256(verifier))`` unpadded), and so are ``clientId`` and ``redirectUri``.
    The new session is bound to the DPoP key's RFC 7638 thumbprint.
  * ``refresh_token``: the refresh token must be live, belong to ``clientId`` and be
    bound to the key that signs the proof. Every refresh rotates it. In the default strict
    mode a rotated-away token is refused with ``INVALID_REQUEST``; in grace mode
    (``{"rotation": "grace"}``) it gets the same answer as the first use, within
    ``grace_seconds``.
  * DPoP on every call, verified exactly (section 6): a compact JWS with header
    ``typ=dpop+jwt``, ``alg=ES256`` and an EC P-256 ``jwk``; claims ``htm=POST``, ``htu`` =
    this fake's own URL of ``/v1/token``, an integer ``iat`` within ``iat_window`` seconds
    of now, and a ``jti`` never seen before; a raw 64-byte ``r||s`` ES256 signature.
    A bad proof is ``ValidationException`` / ``INVALID_REQUEST`` (the real answer is not
    known, section 15).
  * Answers: ``{"accessToken": {accessKeyId, secretAccessKey, sessionToken}, "tokenType":
    "aws_sigv4", "expiresIn", "refreshToken", "idToken"?}`` (``idToken`` only for the
    code grant); errors ``{"error": CODE, "message": ...}`` with ``x-amzn-ErrorType``:
    ``AccessDeniedException`` (401 ``TOKEN_EXPIRED``, ``AUTHCODE_EXPIRED``; 403
    ``USER_CREDENTIALS_CHANGED``, ``INSUFFICIENT_PERMISSIONS``), ``ValidationException``
    400 and ``TooManyRequestsError`` 429 (``INVALID_REQUEST``), ``InternalServerException``
    500 (``server_error``).

Credentials are real for the local STS when ``--moto-state`` names vault_moto.py's state
file: each token answer carries a fresh GetSessionToken of the user ``jane`` (so roles on
top and ``aws sts get-caller-identity`` work), and the session is
``arn:aws:iam::<account>:user/jane``.

Test controls (JSON):
* ``GET /_fake/calls``: ``{"Authorize": n, "CreateOAuth2Token.refresh_token": n, ...,
  "refused": n}``.
* ``GET /_fake/log``: every token call as ``{"op", "grant", "status", "error"?, "reason"?}``.
* ``POST /_fake/config``: knobs: ``{"expires_in": 900, "rotation": "strict"|"grace",
  "grace_seconds": 60, "iat_window": 300, "token_delay": 0.5, "sticky_error": CODE|null,
  "deny": true}``.
* ``POST /_fake/fail``: ``{"codes": ["TOKEN_EXPIRED", "server_error", ...]}``: the next
  token calls are answered with these codes, one each, in order (``"INVALID_REQUEST_429"``
  is the 429 form).
* ``POST /_fake/issue``: a session as ``aws login`` leaves it: returns the cache file's
  JSON (``dpopKey`` as SEC1 PEM, or PKCS#8 with ``{"key_format": "pkcs8"}``), with the
  access token expiring in ``{"expires_in": s}`` (default the config's; negative is
  already expired) and ``{"cross_device": true}`` for the cross-device client.
* ``POST /_fake/reset``: counters and log cleared.

Usage: ``fake_signin.py [--moto-state PATH]``; prints ``READY http://127.0.0.1:PORT``
and runs until its stdin reaches EOF or SIGTERM. check_fake_signin.py proves it against
botocore's own ``LoginProvider``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import fake_http
from fake_http import JsonHandler

SAME_DEVICE = "arn:aws:signin:::devtools/same-device"
CROSS_DEVICE = "arn:aws:signin:::devtools/cross-device"
GRANT_REFRESH = "refresh_token"
GRANT_CODE = "authorization_code"
REDIRECT = re.compile(r"^http://127\.0\.0\.1:[0-9]{1,5}/oauth/callback$")
INVALID_GRANT = "The provided authorization grant is invalid, expired, revoked, or malformed"

# code -> (HTTP status, x-amzn-ErrorType, message); section 8 of the notes.
ERRORS: dict[str, tuple[int, str, str]] = {
    "TOKEN_EXPIRED": (401, "AccessDeniedException", "The refresh token has expired."),
    "AUTHCODE_EXPIRED": (401, "AccessDeniedException", "The authorization code has expired."),
    "USER_CREDENTIALS_CHANGED": (403, "AccessDeniedException", "The user's credentials have changed."),
    "INSUFFICIENT_PERMISSIONS": (
        403,
        "AccessDeniedException",
        "User is not authorized to perform: signin:CreateOAuth2Token",
    ),
    "INVALID_REQUEST": (400, "ValidationException", INVALID_GRANT),
    "INVALID_REQUEST_429": (429, "TooManyRequestsError", "Too many requests"),
    "server_error": (500, "InternalServerException", "Internal server error"),
}


class Failure(Exception):
    def __init__(self, code: str, message: str | None = None, reason: str | None = None) -> None:
        status, kind, default = ERRORS[code]
        super().__init__(message or default)
        self.status, self.kind = status, kind
        self.error = "INVALID_REQUEST" if code == "INVALID_REQUEST_429" else code
        self.message = message or default
        self.reason = reason


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 of the required members in lexicographic order, no spaces."""
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())


def jwk_of(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "x": b64url(numbers.x.to_bytes(32, "big")), "y": b64url(numbers.y.to_bytes(32, "big")), "crv": "P-256"}


def utc(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Fake:
    def __init__(self, moto_state: dict[str, Any] | None) -> None:
        self.lock = threading.Lock()
        self.moto = moto_state
        self.base = ""  # http://127.0.0.1:PORT, set once listening
        self.calls: dict[str, int] = {}
        self.log: list[dict[str, Any]] = []
        self.codes: dict[str, dict[str, Any]] = {}  # authorization code -> its request
        self.used_codes: set[str] = set()
        self.refresh: dict[str, dict[str, Any]] = {}  # refresh token -> {session, jkt, client, rotated, answer}
        self.jtis: set[str] = set()
        self.failures: list[str] = []
        self.config: dict[str, Any] = {
            "expires_in": 900,
            "rotation": "strict",
            "grace_seconds": 60,
            "iat_window": 300,
            "token_delay": 0.0,
            "sticky_error": None,
            "deny": False,
        }

    def count(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1

    def session_arn(self) -> tuple[str, str]:
        account = (self.moto or {}).get("account", "123456789012")
        return f"arn:aws:iam::{account}:user/jane", account

    # ---- browser step ----------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        redirect = query.get("redirect_uri", "")
        state = query.get("state", "")
        client = query.get("client_id", "")
        expected = {SAME_DEVICE: None, CROSS_DEVICE: self.base + "/v1/sessions/confirmation"}
        if client not in expected or (
            REDIRECT.match(redirect) is None if client == SAME_DEVICE else redirect != expected[client]
        ):
            # No trusted redirect to send an error to: a page, as an authorization server does.
            return 400, "invalid client or redirect URI"
        problem = None
        if query.get("response_type") != "code" or query.get("scope") != "openid":
            problem = "invalid_request"
        elif query.get("code_challenge_method") != "SHA-256" or not query.get("code_challenge"):
            problem = "invalid_request"
        elif not state:
            problem = "invalid_request"
        elif self.config["deny"]:
            problem = "access_denied"
        if problem:
            return 302, redirect + "?" + urllib.parse.urlencode({"error": problem, "state": state})
        code = "code-" + secrets.token_urlsafe(24)
        self.codes[code] = {"client": client, "challenge": query["code_challenge"], "redirect": redirect}
        return 302, redirect + "?" + urllib.parse.urlencode({"code": code, "state": state})

    # ---- DPoP --------------------------------------------------------------------------

    def verify_dpop(self, proof: str | None) -> str:
        """The proof's key thumbprint, or a Failure naming what is wrong with it."""

        def bad(reason: str) -> Failure:
            return Failure("INVALID_REQUEST", "Invalid DPoP proof", reason=reason)

        if not proof:
            raise bad("no DPoP header")
        parts = proof.split(".")
        if len(parts) != 3:
            raise bad("not a compact JWS")
        try:
            header = json.loads(unb64url(parts[0]))
            claims = json.loads(unb64url(parts[1]))
            signature = unb64url(parts[2])
        except ValueError:
            raise bad("undecodable JWS") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise bad("JWS parts are not objects")
        if header.get("typ") != "dpop+jwt":
            raise bad("typ is not dpop+jwt")
        if header.get("alg") != "ES256":
            raise bad("alg is not ES256")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise bad("jwk is not an EC P-256 key")
        if set(jwk) - {"kty", "crv", "x", "y"}:
            raise bad("jwk has private or unknown members")
        try:
            x, y = unb64url(jwk["x"]), unb64url(jwk["y"])
            if len(x) != 32 or len(y) != 32:
                raise ValueError("coordinate length")
            public = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1())
            key = public.public_key()
        except (KeyError, TypeError, ValueError):
            raise bad("jwk is not a point on P-256") from None
        if len(signature) != 64:
            raise bad("signature is not 64 bytes r||s")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            key.verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise bad("signature does not verify") from None
        if claims.get("htm") != "POST":
            raise bad("htm is not POST")
        if claims.get("htu") != self.base + "/v1/token":
            raise bad(f"htu is {claims.get('htu')!r}, not {self.base + '/v1/token'!r}")
        iat = claims.get("iat")
        if not isinstance(iat, int) or isinstance(iat, bool):
            raise bad("iat is not an integer")
        if abs(time.time() - iat) > float(self.config["iat_window"]):
            raise bad("iat is outside the allowed window")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise bad("no jti")
        if jti in self.jtis:
            raise bad("jti replayed")
        self.jtis.add(jti)
        return thumbprint(jwk)

    # ---- tokens --------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        if self.moto is None:
            return {
                "accessKeyId": "ASIA" + secrets.token_hex(8).upper(),
                "secretAccessKey": secrets.token_hex(20),
                "sessionToken": secrets.token_hex(32),
            }
        import boto3  # only with moto: the fake alone needs cryptography and the stdlib

        jane = self.moto["users"]["jane"]
        sts = boto3.client(
            "sts",
            endpoint_url=self.moto["endpoint"],
            region_name="us-east-1",
            aws_access_key_id=jane["access_key_id"],
            aws_secret_access_key=jane["secret_access_key"],
        )
        out = sts.get_session_token(DurationSeconds=900)["Credentials"]
        return {
            "accessKeyId": out["AccessKeyId"],
            "secretAccessKey": out["SecretAccessKey"],
            "sessionToken": out["SessionToken"],
        }

    def id_token(self, arn: str, client: str) -> str:
        now = int(time.time())
        header = {"kid": "fake-signin", "typ": "JWT", "alg": "ES384"}
        claims = {
            "sub": arn,
            "aud": client,
            "iss": "https://signin.aws.amazon.com/signin",
            "session_arn": arn,
            "iat": now,
            "exp": now + 900,
        }
        part = lambda v: b64url(json.dumps(v, separators=(",", ":")).encode())  # noqa: E731
        return f"{part(header)}.{part(claims)}.{b64url(secrets.token_bytes(96))}"

    def mint(self, session: str, jkt: str, client: str) -> dict[str, Any]:
        refresh = "ASOR" + secrets.token_urlsafe(48)
        answer = {
            "accessToken": self.credentials(),
            "tokenType": "aws_sigv4",
            "expiresIn": int(self.config["expires_in"]),
            "refreshToken": refresh,
        }
        self.refresh[refresh] = {"session": session, "jkt": jkt, "client": client, "rotated": None, "answer": None}
        return answer

    def token(self, body: dict[str, Any], proof: str | None) -> tuple[str, dict[str, Any]]:
        grant = body.get("grantType")
        op = {GRANT_CODE: "CreateOAuth2Token.authorization_code", GRANT_REFRESH: "CreateOAuth2Token.refresh_token"}.get(
            grant, "CreateOAuth2Token.other"
        )
        self.count(op)
        if self.failures:
            raise Failure(self.failures.pop(0))
        client = body.get("clientId")
        if client not in (SAME_DEVICE, CROSS_DEVICE):
            raise Failure("INVALID_REQUEST", "Invalid client id", reason="clientId")
        jkt = self.verify_dpop(proof)
        if grant == GRANT_CODE:
            code = body.get("code", "")
            if code in self.used_codes:
                raise Failure("INVALID_REQUEST", INVALID_GRANT, reason="authorization code reused")
            request = self.codes.pop(code, None)
            if request is None or request["client"] != client:
                raise Failure("INVALID_REQUEST", INVALID_GRANT, reason="unknown authorization code")
            self.used_codes.add(code)
            verifier = body.get("codeVerifier", "")
            if not isinstance(verifier, str) or not 43 <= len(verifier) <= 128:
                raise Failure("INVALID_REQUEST", "Invalid code verifier", reason="verifier length")
            if b64url(hashlib.sha256(verifier.encode()).digest()) != request["challenge"]:
                raise Failure("INVALID_REQUEST", INVALID_GRANT, reason="PKCE verification failed")
            if body.get("redirectUri") != request["redirect"]:
                raise Failure("INVALID_REQUEST", INVALID_GRANT, reason="redirect URI mismatch")
            arn, _ = self.session_arn()
            answer = self.mint(arn, jkt, client)
            answer["idToken"] = self.id_token(arn, client)
            return op, answer
        if grant == GRANT_REFRESH:
            token = body.get("refreshToken", "")
            info = self.refresh.get(token)
            if info is None or info["client"] != client:
                raise Failure("INVALID_REQUEST", INVALID_GRANT, reason="unknown refresh token")
            if info["jkt"] != jkt:
                raise Failure("INVALID_REQUEST", "Invalid DPoP proof", reason="key not bound to the refresh token")
            if self.config["sticky_error"]:
                raise Failure(self.config["sticky_error"])
            if info["rotated"] is not None:
                grace = self.config["rotation"] == "grace"
                if grace and time.time() - info["rotated"] <= float(self.config["grace_seconds"]):
                    return op, dict(info["answer"], expiresIn=int(self.config["expires_in"]))
                raise Failure("INVALID_REQUEST", INVALID_GRANT, reason="refresh token already rotated")
            answer = self.mint(info["session"], jkt, client)
            info["rotated"], info["answer"] = time.time(), answer
            return op, answer
        raise Failure("INVALID_REQUEST", "Unsupported grant type", reason="grantType")

    def issue(self, body: dict[str, Any]) -> dict[str, Any]:
        """A cache file as `aws login` writes it, for tests that start signed in."""
        # No coordinate with a leading zero byte: awscrt (botocore) would encode it shorter.
        key = ec.generate_private_key(ec.SECP256R1())
        while min(key.public_key().public_numbers().x, key.public_key().public_numbers().y) < 1 << 248:
            key = ec.generate_private_key(ec.SECP256R1())
        pkcs8 = body.get("key_format") == "pkcs8"
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        client = CROSS_DEVICE if body.get("cross_device") else SAME_DEVICE
        arn, account = self.session_arn()
        answer = self.mint(arn, thumbprint(jwk_of(key)), client)
        expires_in = int(body.get("expires_in", self.config["expires_in"]))
        creds = answer["accessToken"]
        return {
            "accessToken": {
                "accessKeyId": creds["accessKeyId"],
                "secretAccessKey": creds["secretAccessKey"],
                "sessionToken": creds["sessionToken"],
                "accountId": account,
                "expiresAt": utc(time.time() + expires_in),
            },
            "tokenType": "aws_sigv4",
            "clientId": client,
            "refreshToken": answer["refreshToken"],
            "idToken": self.id_token(arn, client),
            "dpopKey": pem,
        }


def handler(fake: Fake) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def route(self, method: str) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if url.path.startswith("/_fake/"):
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    self.send(400, {"message": "body is not JSON"})
                    return
                self.control(method, url.path, body)
                return
            if (method, url.path) == ("GET", "/v1/authorize"):
                with fake.lock:
                    fake.count("Authorize")
                    status, where = fake.authorize(query)
                if status == 302:
                    self.send(302, None, {"Location": where})
                else:
                    self.send(status, None, text=f"<p>{where}</p>")
                return
            if (method, url.path) == ("GET", "/v1/sessions/confirmation"):
                pasted = base64.b64encode(
                    urllib.parse.urlencode({"state": query.get("state", ""), "code": query.get("code", "")}).encode()
                ).decode()
                self.send(200, None, text=f"<p>Paste this code in your terminal:</p>\nCODE {pasted}\n")
                return
            if (method, url.path) != ("POST", "/v1/token"):
                self.send(404, {"message": f"no route {method} {url.path}"})
                return
            if fake.config["token_delay"]:
                time.sleep(float(fake.config["token_delay"]))
            entry: dict[str, Any] = {"op": "CreateOAuth2Token"}
            try:
                if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                    raise Failure("INVALID_REQUEST", "Unsupported content type", reason="content type")
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise Failure("INVALID_REQUEST", "Malformed request body", reason="body") from None
                if not isinstance(body, dict):
                    raise Failure("INVALID_REQUEST", "Malformed request body", reason="body")
                entry["grant"] = body.get("grantType")
                with fake.lock:
                    _, answer = fake.token(body, self.headers.get("DPoP"))
                    entry["status"] = 200
                    fake.log.append(entry)
                self.send(200, answer)
            except Failure as f:
                with fake.lock:
                    fake.count("refused")
                    entry.update(status=f.status, error=f.error, reason=f.reason)
                    fake.log.append(entry)
                self.send(f.status, {"error": f.error, "message": f.message}, {"x-amzn-ErrorType": f.kind})

        def control(self, method: str, path: str, body: dict[str, Any]) -> None:
            with fake.lock:
                if path == "/_fake/calls":
                    self.send(200, fake.calls)
                elif path == "/_fake/log":
                    self.send(200, fake.log)
                elif path == "/_fake/config" and method == "POST":
                    fake.config.update(body)
                    self.send(200, fake.config)
                elif path == "/_fake/fail" and method == "POST":
                    codes = list(body.get("codes", []))
                    unknown = [c for c in codes if c not in ERRORS]
                    if unknown:
                        self.send(400, {"message": f"unknown codes {unknown}"})
                        return
                    fake.failures.extend(codes)
                    self.send(200, {"queued": len(fake.failures)})
                elif path == "/_fake/reset" and method == "POST":
                    fake.calls.clear()
                    fake.log.clear()
                    fake.failures.clear()
                    self.send(200, {})
                elif path == "/_fake/issue" and method == "POST":
                    self.send(200, fake.issue(body))
                else:
                    self.send(404, {"message": f"no control {method} {path}"})

    return Handler


def start(moto: dict[str, Any] | None, base: str) -> type[JsonHandler]:
    fake = Fake(moto)
    fake.base = base
    return handler(fake)


def main() -> int:
    return fake_http.main(
        (__doc__ or "").splitlines()[0], "vault_moto.py's state file: mint real credentials there", start
    )


if __name__ == "__main__":
    sys.exit(main())
