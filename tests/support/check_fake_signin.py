#!/usr/bin/env python3
"""Self-test for fake_signin.py: proves the fake Sign-In service speaks the protocol the way
botocore (an independent client, ``botocore[crt]``) expects, before vault's tests trust it.

It owns nothing but checks. It starts vault_moto.py and fake_sso.py's sibling
fake_signin.py as the Rust tests do, then:

* runs botocore's own ``LoginProvider`` (in a child Python with its own HOME, config and
  ``AWS_LOGIN_CACHE_DIRECTORY``, pointed at the fake by ``AWS_ENDPOINT_URL_SIGNIN``) on a
  cache file as ``aws login`` leaves it: it refreshes through the fake with DPoP verified,
  saves the rotated refresh token, and the credentials work against moto's STS;
* answers each error code of the notes' section 8 and checks what botocore makes of it;
* sends proofs botocore's own ``_build_dpop_header`` built, then spoiled one way each,
  and a reused refresh token, and checks each is refused as the notes say;
* drives the browser step (``/v1/authorize`` with PKCE ``SHA-256``, the redirect, the
  code grant through botocore's signin client) and the cross-device page.

    python3 tests/support/check_fake_signin.py

Prints "N passed, 0 failed" and exits 0 on success, non-zero otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
SAME_DEVICE = "arn:aws:signin:::devtools/same-device"
CROSS_DEVICE = "arn:aws:signin:::devtools/cross-device"


class Checker:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, fn: Callable[[], Any]) -> Any:
        try:
            result = fn()
        except Exception:
            self.failed += 1
            print(f"FAIL {name}")
            traceback.print_exc(limit=4)
            return None
        self.passed += 1
        print(f"ok   {name}")
        return result


def start(args: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("READY http://127.0.0.1:"), line
    return proc, line.split()[1]


def control(endpoint: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(endpoint + path, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# botocore's LoginProvider in a process of its own: the profile `signed-in` of the config
# in AWS_CONFIG_FILE; prints what it got, or the exception and, for a ClientError, its code.
BOTO_CHILD = textwrap.dedent(
    """
    import json, sys
    import botocore.session
    from botocore.exceptions import ClientError
    out = {}
    try:
        session = botocore.session.Session(profile="signed-in")
        creds = session.get_credentials()
        out["method"] = creds.method
        frozen = creds.get_frozen_credentials()
        out["access_key_id"] = frozen.access_key
        if len(sys.argv) > 1:
            sts = session.create_client("sts", endpoint_url=sys.argv[1], region_name="us-east-1")
            out["arn"] = sts.get_caller_identity()["Arn"]
    except ClientError as e:
        out["exception"] = type(e).__name__
        out["code"] = e.response["Error"].get("Code")
        out["error"] = e.response.get("error")
        out["status"] = e.response["ResponseMetadata"]["HTTPStatusCode"]
    except Exception as e:
        out["exception"] = type(e).__name__
        out["message"] = str(e)
        cause = e.__cause__
        if isinstance(cause, ClientError):
            out["code"] = cause.response["Error"].get("Code")
            out["error"] = cause.response.get("error")
    print(json.dumps(out))
    """
)


class Home:
    """A HOME with a config naming the fake and a cache folder, as `aws login` leaves them."""

    def __init__(self, tmp: str, endpoint: str, arn: str) -> None:
        self.dir = tempfile.mkdtemp(dir=tmp)
        self.cache = os.path.join(self.dir, "login-cache")
        os.makedirs(self.cache, mode=0o700)
        self.config = os.path.join(self.dir, "config")
        with open(self.config, "w") as f:
            f.write(f"[profile signed-in]\nlogin_session = {arn}\nregion = eu-west-1\n")
        self.endpoint = endpoint
        self.path = os.path.join(self.cache, hashlib.sha256(arn.encode()).hexdigest() + ".json")

    def write(self, token: dict[str, Any]) -> None:
        with open(self.path, "w") as f:
            json.dump(token, f)
        os.chmod(self.path, 0o600)

    def read(self) -> dict[str, Any]:
        with open(self.path) as f:
            return json.load(f)

    def botocore(self, moto_endpoint: str | None = None) -> dict[str, Any]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("HOME", "PYTHONPATH")
        }
        env.update(
            HOME=self.dir,
            AWS_CONFIG_FILE=self.config,
            AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.dir, "credentials"),
            AWS_LOGIN_CACHE_DIRECTORY=self.cache,
            AWS_ENDPOINT_URL_SIGNIN=self.endpoint,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_MAX_ATTEMPTS="3",
        )
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        args = [sys.executable, "-c", BOTO_CHILD] + ([moto_endpoint] if moto_endpoint else [])
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    c = Checker()
    tmp = tempfile.mkdtemp(prefix="fake-signin-check-")
    procs: list[subprocess.Popen] = []
    try:
        state_path = os.path.join(tmp, "state.json")
        moto, moto_endpoint = start([os.path.join(HERE, "vault_moto.py"), "--port", "0", "--state-file", state_path])
        procs.append(moto)
        fake, endpoint = start([os.path.join(HERE, "fake_signin.py"), "--moto-state", state_path])
        procs.append(fake)
        with open(state_path) as f:
            state = json.load(f)
        run_checks(c, endpoint, moto_endpoint, state, tmp)
    finally:
        for proc in procs:
            proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


def run_checks(c: Checker, endpoint: str, moto_endpoint: str, state: dict[str, Any], tmp: str) -> None:
    from awscrt.crypto import EC, ECType  # botocore[crt]: LoginProvider needs it, and so does this check

    from botocore.credentials import _build_dpop_header

    arn = f"arn:aws:iam::{state['account']}:user/jane"

    def new_key() -> Any:
        # awscrt drops a coordinate's leading zero bytes (about 1 key in 128), so botocore's
        # jwk then has a 31-byte x or y, which RFC 7518 and the fake refuse (checked below).
        while True:
            key = EC.new_generate(ECType.P_256)
            coords = key.get_public_coords()
            if len(coords.x) == len(coords.y) == 32:
                return key
    token_url = endpoint + "/v1/token"

    def calls(op: str = "CreateOAuth2Token.refresh_token") -> int:
        return control(endpoint, "/_fake/calls").get(op, 0)

    def key_of(token: dict[str, Any]) -> Any:
        lines = [line for line in token["dpopKey"].splitlines() if not line.startswith("-----")]
        return EC.new_key_from_der_data(base64.b64decode("".join(lines)))

    def post(body: dict[str, Any], proof: str | None, content_type: str = "application/json") -> tuple[int, Any, str]:
        headers = {"Content-Type": content_type}
        if proof is not None:
            headers["DPoP"] = proof
        request = urllib.request.Request(token_url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read()), ""
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read()), e.headers.get("x-amzn-ErrorType", "")

    def refresh_body(token: dict[str, Any]) -> dict[str, Any]:
        return {"clientId": token["clientId"], "grantType": "refresh_token", "refreshToken": token["refreshToken"]}

    def refused(answer: tuple[int, Any, str], reason: str | None = None) -> None:
        status, body, kind = answer
        assert (status, kind, body.get("error")) == (400, "ValidationException", "INVALID_REQUEST"), answer
        if reason:
            assert control(endpoint, "/_fake/log")[-1].get("reason") == reason, control(endpoint, "/_fake/log")[-1]

    # ---- botocore's LoginProvider refreshes through the fake -------------------------------

    def botocore_refreshes(key_format: str) -> None:
        home = Home(tmp, endpoint, arn)
        token = control(endpoint, "/_fake/issue", {"expires_in": 240, "key_format": key_format})
        token["vaultTestField"] = {"kept": True}
        home.write(token)
        before = calls()
        got = home.botocore(moto_endpoint)
        assert got.get("method") == "login", got
        assert calls() == before + 1, "botocore made one CreateOAuth2Token call"
        assert control(endpoint, "/_fake/log")[-1]["status"] == 200
        after = home.read()
        assert after["refreshToken"] != token["refreshToken"], "the rotated refresh token was saved"
        assert after["accessToken"]["accessKeyId"] == got["access_key_id"] != token["accessToken"]["accessKeyId"]
        assert after["accessToken"]["expiresAt"].endswith("Z") and len(after["accessToken"]["expiresAt"]) == 20
        assert after["vaultTestField"] == {"kept": True} and after["dpopKey"] == token["dpopKey"]
        assert got["arn"] == arn, f"the credentials are moto's GetSessionToken of jane: {got}"
        assert os.stat(home.path).st_mode & 0o777 == 0o600
        # Fresh now: the next botocore reads the file and calls nobody.
        again = home.botocore()
        assert again["access_key_id"] == got["access_key_id"] and calls() == before + 1, again
        # And the token botocore rotated away is refused (strict rotation).
        refused(post(refresh_body(token), _build_dpop_header(key_of(token), token_url)), "refresh token already rotated")

    c.check("botocore refreshes a SEC1-key cache file: DPoP verified, token rotated and saved, unknown fields kept, "
            "credentials from moto", lambda: botocore_refreshes("sec1"))
    c.check("botocore refreshes a PKCS#8-key cache file", lambda: botocore_refreshes("pkcs8"))

    def expired_refreshes() -> None:
        home = Home(tmp, endpoint, arn)
        home.write(control(endpoint, "/_fake/issue", {"expires_in": -3600}))
        before = calls()
        got = home.botocore()
        assert got.get("access_key_id") and calls() == before + 1, got

    c.check("an expired access token is refreshed (no idle timeout in the fake)", expired_refreshes)

    def error_answer(codes: list[str], exception: str, error: str | None, code: str | None, refreshes: int) -> None:
        home = Home(tmp, endpoint, arn)
        token = control(endpoint, "/_fake/issue", {"expires_in": 60})
        home.write(token)
        control(endpoint, "/_fake/reset", {})
        control(endpoint, "/_fake/fail", {"codes": codes})
        got = home.botocore()
        made = calls()
        control(endpoint, "/_fake/reset", {})
        assert got.get("exception") == exception, got
        assert got.get("error") == error and got.get("code") == code, got
        assert made == refreshes, f"{made} refresh calls"
        assert home.read() == token, "a refused refresh leaves the file as it was"

    for codes, exception, error, code, refreshes in [
        (["TOKEN_EXPIRED"], "LoginRefreshRequired", "TOKEN_EXPIRED", "AccessDeniedException", 1),
        (["USER_CREDENTIALS_CHANGED"], "LoginRefreshRequired", "USER_CREDENTIALS_CHANGED", "AccessDeniedException", 1),
        (["INSUFFICIENT_PERMISSIONS"], "LoginInsufficientPermissions", "INSUFFICIENT_PERMISSIONS",
         "AccessDeniedException", 1),
        (["AUTHCODE_EXPIRED"], "LoginError", "AUTHCODE_EXPIRED", "AccessDeniedException", 1),
        # Not mapped by botocore: the modeled ClientError subclasses propagate (after the
        # standard retries for 500 and 429).
        (["INVALID_REQUEST"], "ValidationException", "INVALID_REQUEST", "ValidationException", 1),
        (["server_error"] * 3, "InternalServerException", "server_error", "InternalServerException", 3),
        (["INVALID_REQUEST_429"] * 3, "TooManyRequestsError", "INVALID_REQUEST", "TooManyRequestsError", 3),
    ]:
        c.check(f"{codes[0]} is answered as the notes say: botocore raises {exception} ({code})",
                lambda a=(codes, exception, error, code, refreshes): error_answer(*a))

    def retried_500() -> None:
        home = Home(tmp, endpoint, arn)
        home.write(control(endpoint, "/_fake/issue", {"expires_in": 60}))
        control(endpoint, "/_fake/reset", {})
        control(endpoint, "/_fake/fail", {"codes": ["server_error"]})
        got = home.botocore()
        assert got.get("access_key_id") and calls() == 2, (got, calls())

    c.check("one server_error is retried by botocore, then the refresh succeeds", retried_500)

    def sticky() -> None:
        home = Home(tmp, endpoint, arn)
        token = control(endpoint, "/_fake/issue", {"expires_in": 60})
        home.write(token)
        control(endpoint, "/_fake/config", {"sticky_error": "INSUFFICIENT_PERMISSIONS"})
        try:
            first, second = home.botocore(), home.botocore()
        finally:
            control(endpoint, "/_fake/config", {"sticky_error": None})
        assert first.get("exception") == second.get("exception") == "LoginInsufficientPermissions", (first, second)
        assert "signin:CreateOAuth2Token" in first["message"]
        assert home.read() == token

    c.check("a sticky error (permissions taken away) answers every refresh until cleared", sticky)

    # ---- proofs, one thing wrong each ---------------------------------------------------------

    def proof_checks() -> None:
        token = control(endpoint, "/_fake/issue", {"expires_in": 60})
        key = key_of(token)
        body = refresh_body(token)
        other = new_key()
        header, payload, signature = _build_dpop_header(key, token_url).split(".")

        def spoil(**claims: Any) -> str:
            parts = json.loads(base64.urlsafe_b64decode(payload + "=="))
            parts.update(claims)
            proof = _build_dpop_header(key, parts["htu"], uid=parts["jti"], ts=parts["iat"])
            h, _, _ = proof.split(".")
            p = b64url(json.dumps(parts, separators=(",", ":")).encode())
            from hashlib import sha256

            der = key.sign(sha256(f"{h}.{p}".encode()).digest())
            return f"{h}.{p}.{b64url(EC.decode_der_signature_to_padded_pair(der, pad_to=32))}"

        refused(post(body, None), "no DPoP header")
        refused(post(body, "not-a-jws"), "not a compact JWS")
        refused(post(body, _build_dpop_header(key, "http://127.0.0.1:1/v1/token")), None)
        assert "htu is" in control(endpoint, "/_fake/log")[-1]["reason"]
        refused(post(body, spoil(htm="GET")), "htm is not POST")
        refused(post(body, _build_dpop_header(key, token_url, ts=int(time.time()) - 3600)), "iat is outside the allowed window")
        refused(post(body, _build_dpop_header(key, token_url, ts=int(time.time()) + 3600)), "iat is outside the allowed window")
        refused(post(body, spoil(iat=str(int(time.time())))), "iat is not an integer")
        jti = str(uuid.uuid4())
        first = post(body, _build_dpop_header(key, token_url, uid=jti))
        assert first[0] == 200, first
        body = refresh_body({**token, "refreshToken": first[1]["refreshToken"]})
        refused(post(body, _build_dpop_header(key, token_url, uid=jti)), "jti replayed")
        tampered = header + "." + b64url(json.dumps({"htm": "POST", "htu": token_url, "iat": int(time.time()),
                                                      "jti": str(uuid.uuid4())}).encode()) + "." + signature
        refused(post(body, tampered), "signature does not verify")
        none_header = b64url(json.dumps({"typ": "dpop+jwt", "alg": "none"}).encode())
        refused(post(body, none_header + "." + payload + "."), "alg is not ES256")
        refused(post(body, _build_dpop_header(other, token_url)), "key not bound to the refresh token")
        # A jwk with a coordinate shorter than 32 bytes (what awscrt gives for keys with a
        # leading zero byte) is not a P-256 jwk per RFC 7518 section 6.2.1.2.
        short = dict(json.loads(base64.urlsafe_b64decode(header + "==")))
        short["jwk"] = dict(short["jwk"], x=b64url(base64.urlsafe_b64decode(short["jwk"]["x"] + "==")[1:]))
        h = b64url(json.dumps(short, separators=(",", ":")).encode())
        refused(post(body, h + "." + payload + "." + signature), "jwk is not a point on P-256")
        refused(post(body, _build_dpop_header(key, token_url), content_type="application/x-amz-json-1.1"), "content type")
        # The token survived every refused proof: a good one still works.
        assert post(body, _build_dpop_header(key, token_url))[0] == 200

    c.check("bad proofs are INVALID_REQUEST: none, not a JWS, wrong htu/htm, stale or future iat, replayed jti, "
            "forged signature, alg none, another key", proof_checks)

    def grace() -> None:
        token = control(endpoint, "/_fake/issue", {"expires_in": 60})
        key = key_of(token)
        control(endpoint, "/_fake/config", {"rotation": "grace", "grace_seconds": 60})
        try:
            one = post(refresh_body(token), _build_dpop_header(key, token_url))
            two = post(refresh_body(token), _build_dpop_header(key, token_url))
        finally:
            control(endpoint, "/_fake/config", {"rotation": "strict"})
        assert one[0] == two[0] == 200 and one[1]["refreshToken"] == two[1]["refreshToken"], (one, two)
        three = post(refresh_body(token), _build_dpop_header(key, token_url))
        refused(three, "refresh token already rotated")

    c.check("grace mode: a refresh token used twice within the window gets the same answer; strict refuses", grace)

    # ---- the browser step and the code grant, through botocore's signin client ----------------

    session = botocore.session.Session()
    client = session.create_client(
        "signin",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}),
    )

    def authorize(client_id: str, redirect: str, method: str = "SHA-256") -> tuple[str, str, dict[str, str]]:
        verifier = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
                           for _ in range(64))
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        state = str(uuid.uuid4())
        query = urllib.parse.urlencode(
            {"response_type": "code", "client_id": client_id, "state": state, "code_challenge_method": method,
             "scope": "openid", "redirect_uri": redirect}, quote_via=urllib.parse.quote, safe="-._~"
        ) + "&code_challenge=" + challenge

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(endpoint + "/v1/authorize?" + query, timeout=10)
            raise AssertionError("no redirect")
        except urllib.error.HTTPError as e:
            assert e.code == 302, e.code
            location = e.headers["Location"]
        assert location.startswith(redirect + "?"), location
        back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        assert back["state"] == state, back
        return verifier, location, back

    def redeem(client_id: str, code: str, verifier: str, redirect: str, key: Any) -> dict[str, Any]:
        handler = lambda **kw: kw["params"]["headers"].__setitem__(  # noqa: E731
            "DPoP", _build_dpop_header(key, kw["params"]["url"]))
        client.meta.events.register("before-call.signin.CreateOAuth2Token", handler)
        try:
            return client.create_o_auth2_token(tokenInput={
                "clientId": client_id, "grantType": "authorization_code", "code": code,
                "codeVerifier": verifier, "redirectUri": redirect})["tokenOutput"]
        finally:
            client.meta.events.unregister("before-call.signin.CreateOAuth2Token", handler)

    redirect = "http://127.0.0.1:4321/oauth/callback"

    def same_device() -> None:
        verifier, _, back = authorize(SAME_DEVICE, redirect)
        key = new_key()
        out = redeem(SAME_DEVICE, back["code"], verifier, redirect, key)
        assert out["tokenType"] == "aws_sigv4" and out["expiresIn"] == 900 and out["refreshToken"].startswith("ASOR")
        claims = json.loads(base64.urlsafe_b64decode(out["idToken"].split(".")[1] + "=="))
        assert claims["sub"] == arn, claims
        assert set(out["accessToken"]) == {"accessKeyId", "secretAccessKey", "sessionToken"}
        # The new refresh token is bound to that key: botocore refreshes it with the same key.
        again = post({"clientId": SAME_DEVICE, "grantType": "refresh_token", "refreshToken": out["refreshToken"]},
                     _build_dpop_header(key, token_url))
        assert again[0] == 200, again
        # The code is single use.
        try:
            redeem(SAME_DEVICE, back["code"], verifier, redirect, key)
            raise AssertionError("a reused code was accepted")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ValidationException" and e.response["error"] == "INVALID_REQUEST"

    c.check("same device: authorize redirects with code and state; botocore's signin client redeems it once "
            "(id token sub is the session ARN)", same_device)

    def pkce_checked() -> None:
        _, _, back = authorize(SAME_DEVICE, redirect)
        key = new_key()
        try:
            redeem(SAME_DEVICE, back["code"], "x" * 64, redirect, key)
            raise AssertionError("a wrong verifier was accepted")
        except ClientError as e:
            assert e.response["error"] == "INVALID_REQUEST"
        assert control(endpoint, "/_fake/log")[-1]["reason"] == "PKCE verification failed"
        verifier, _, back = authorize(SAME_DEVICE, redirect)
        try:
            redeem(SAME_DEVICE, back["code"], verifier, "http://127.0.0.1:9/oauth/callback", key)
            raise AssertionError("another redirect URI was accepted")
        except ClientError as e:
            assert e.response["error"] == "INVALID_REQUEST"
        _, location, back = authorize(SAME_DEVICE, redirect, method="S256")
        assert back.get("error") == "invalid_request" and "code" not in back, location
        control(endpoint, "/_fake/config", {"deny": True})
        try:
            _, _, back = authorize(SAME_DEVICE, redirect)
        finally:
            control(endpoint, "/_fake/config", {"deny": False})
        assert back.get("error") == "access_denied", back

    c.check("PKCE: a wrong verifier, another redirect URI, method S256, a denial: each refused", pkce_checked)

    def code_expired() -> None:
        verifier, _, back = authorize(SAME_DEVICE, redirect)
        control(endpoint, "/_fake/fail", {"codes": ["AUTHCODE_EXPIRED"]})
        try:
            redeem(SAME_DEVICE, back["code"], verifier, redirect, new_key())
            raise AssertionError("accepted")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "AccessDeniedException", e.response
            assert e.response["error"] == "AUTHCODE_EXPIRED" and e.response["ResponseMetadata"]["HTTPStatusCode"] == 401

    c.check("AUTHCODE_EXPIRED on the code grant: AccessDeniedException 401", code_expired)

    def cross_device() -> None:
        confirmation = endpoint + "/v1/sessions/confirmation"
        verifier, location, back = authorize(CROSS_DEVICE, confirmation)
        with urllib.request.urlopen(location, timeout=10) as page:
            text = page.read().decode()
        pasted = next(line.split()[1] for line in text.splitlines() if line.startswith("CODE "))
        fields = dict(urllib.parse.parse_qsl(base64.b64decode(pasted).decode()))
        assert fields == {"state": back["state"], "code": back["code"]}, fields
        out = redeem(CROSS_DEVICE, fields["code"], verifier, confirmation, new_key())
        assert out["refreshToken"] and out["idToken"]
        bad = urllib.request.Request(endpoint + "/v1/authorize?" + urllib.parse.urlencode(
            {"response_type": "code", "client_id": CROSS_DEVICE, "redirect_uri": redirect, "state": "s",
             "code_challenge_method": "SHA-256", "code_challenge": "c", "scope": "openid"}))
        try:
            urllib.request.urlopen(bad, timeout=10)
            raise AssertionError("a loopback redirect for the cross-device client was accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 400

    c.check("cross device: the confirmation page shows base64 of state=&code=, redeemed with the confirmation URI",
            cross_device)

    def counted() -> None:
        got = control(endpoint, "/_fake/calls")
        assert got.get("Authorize", 0) >= 6 and got.get("CreateOAuth2Token.authorization_code", 0) >= 4, got

    c.check("the fake counts its calls", counted)


if __name__ == "__main__":
    sys.exit(main())
