#!/usr/bin/env python3
"""Self-test for fake_sso.py: proves the fake SSO OIDC/portal speaks the protocol the way
boto3 (an independent client) expects, before vault's tests trust it.

It owns nothing but checks. It starts vault_moto.py and fake_sso.py as the Rust tests do,
then drives the fake with boto3's sso-oidc and sso clients, and with botocore's own SSO
token provider and SSO credential provider (in a child Python with its own HOME, since
botocore fixes the cache folder at import time).

    python3 tests/support/check_fake_sso.py

Prints "N passed, 0 failed" and exits 0 on success, non-zero otherwise.
"""

from __future__ import annotations

import base64
import concurrent.futures
import datetime
import hashlib
import json
import os
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
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
START_URL = "https://d-1234567890.awsapps.com/start"


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


def expect_error(fn: Callable[[], Any], code: str, status: int) -> None:
    try:
        fn()
    except ClientError as err:
        got = (err.response["Error"].get("Code"), err.response["ResponseMetadata"]["HTTPStatusCode"])
        assert got == (code, status), f"expected {(code, status)}, got {got}"
        return
    raise AssertionError(f"expected {code}, the call succeeded")


def start(args: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("READY http://127.0.0.1:"), line
    return proc, line.split()[1]


def control(endpoint: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(endpoint + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def sso_time(seconds_from_now: float) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


BOTO_CHILD = textwrap.dedent(
    """
    import json, sys, boto3
    session = boto3.Session(profile_name=sys.argv[1])
    creds = session.get_credentials().get_frozen_credentials()
    arn = session.client("sts").get_caller_identity()["Arn"]
    print(json.dumps({"access_key_id": creds.access_key, "arn": arn}))
    """
)


def main() -> int:
    c = Checker()
    tmp = tempfile.mkdtemp(prefix="fake-sso-check-")
    procs: list[subprocess.Popen] = []
    try:
        state_path = os.path.join(tmp, "state.json")
        moto, moto_endpoint = start([os.path.join(HERE, "vault_moto.py"), "--port", "0", "--state-file", state_path])
        procs.append(moto)
        fake, endpoint = start([os.path.join(HERE, "fake_sso.py"), "--moto-state", state_path])
        procs.append(fake)
        run_checks(c, endpoint, moto_endpoint, tmp)
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


def run_checks(c: Checker, endpoint: str, moto_endpoint: str, tmp: str) -> None:
    config = Config(retries={"max_attempts": 1})
    kw = dict(region_name="eu-west-1", endpoint_url=endpoint, config=config)
    oidc = boto3.client("sso-oidc", **kw)
    portal = boto3.client("sso", **kw)

    def device_flow() -> dict[str, Any]:
        control(endpoint, "/_fake/config", {"pending_polls": 1, "device_errors": ["SlowDownException"]})
        reg = oidc.register_client(clientName="check", clientType="public", scopes=["sso:account:access"])
        assert reg["clientSecretExpiresAt"] > time.time() + 86400
        dev = oidc.start_device_authorization(
            clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL
        )
        assert dev["userCode"] and dev["interval"] == 1 and dev["userCode"] not in dev["verificationUriComplete"]
        poll = lambda: oidc.create_token(  # noqa: E731
            clientId=reg["clientId"],
            clientSecret=reg["clientSecret"],
            grantType="urn:ietf:params:oauth:grant-type:device_code",
            deviceCode=dev["deviceCode"],
        )
        expect_error(poll, "SlowDownException", 400)
        expect_error(poll, "AuthorizationPendingException", 400)
        token = poll()
        assert token["accessToken"] and token["refreshToken"] and token["expiresIn"] > 0
        control(endpoint, "/_fake/config", {"pending_polls": 0, "device_errors": []})
        return {**reg, **token}

    login = c.check("device flow: slow_down, authorization_pending, then a token with a refresh token", device_flow)

    def no_scopes_no_refresh() -> None:
        reg = oidc.register_client(clientName="check", clientType="public")
        dev = oidc.start_device_authorization(
            clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL
        )
        token = oidc.create_token(
            clientId=reg["clientId"],
            clientSecret=reg["clientSecret"],
            grantType="urn:ietf:params:oauth:grant-type:device_code",
            deviceCode=dev["deviceCode"],
        )
        assert "refreshToken" not in token, token

    c.check("a client registered without scopes gets no refresh token", no_scopes_no_refresh)

    def denial_and_expiry() -> None:
        reg = oidc.register_client(clientName="check", clientType="public", scopes=["sso:account:access"])
        args = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL)
        for knob, code in (("deny", "AccessDeniedException"), ("device_expired", "ExpiredTokenException")):
            dev = oidc.start_device_authorization(**args)
            control(endpoint, "/_fake/config", {knob: True})
            expect_error(
                lambda: oidc.create_token(
                    clientId=reg["clientId"],
                    clientSecret=reg["clientSecret"],
                    grantType="urn:ietf:params:oauth:grant-type:device_code",
                    deviceCode=dev["deviceCode"],
                ),
                code,
                400,
            )
            control(endpoint, "/_fake/config", {knob: False})

    c.check("device flow: access_denied and expired_token", denial_and_expiry)

    def hostile_verification_uri() -> None:
        reg = oidc.register_client(clientName="check", clientType="public")
        args = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL)
        for uri in ("--gpu-launcher=touch /tmp/x", "file:///etc/passwd"):
            control(endpoint, "/_fake/config", {"verification_uri_complete": uri})
            dev = oidc.start_device_authorization(**args)
            assert dev["verificationUriComplete"] == uri, dev
        control(endpoint, "/_fake/config", {"verification_uri_complete": None})
        dev = oidc.start_device_authorization(**args)
        assert dev["verificationUriComplete"].startswith(dev["verificationUri"] + "?request_uri="), dev

    c.check("device flow: the verification_uri_complete knob answers any text as it is", hostile_verification_uri)

    def pkce() -> None:
        reg = oidc.register_client(
            clientName="check",
            clientType="public",
            scopes=["sso:account:access"],
            grantTypes=["authorization_code", "refresh_token"],
            redirectUris=["http://127.0.0.1/oauth/callback"],
            issuerUrl=START_URL,
        )
        verifier = "v" * 64
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect = "http://127.0.0.1:9/oauth/callback"
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": reg["clientId"],
                "redirect_uri": redirect,
                "state": "st-1",
                "code_challenge_method": "S256",
                "scopes": "sso:account:access",
                "code_challenge": challenge,
            }
        )

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any) -> None:
                return None

        try:
            urllib.request.build_opener(NoRedirect).open(f"{endpoint}/authorize?{query}", timeout=10)
            raise AssertionError("no redirect")
        except urllib.error.HTTPError as e:
            assert e.code == 302, e.code
            location = e.headers["Location"]
        target = urllib.parse.urlsplit(location)
        back = dict(urllib.parse.parse_qsl(target.query))
        assert location.startswith(redirect + "?") and back["state"] == "st-1", location
        create = lambda v, r: oidc.create_token(  # noqa: E731
            clientId=reg["clientId"],
            clientSecret=reg["clientSecret"],
            grantType="authorization_code",
            code=back["code"],
            codeVerifier=v,
            redirectUri=r,
        )
        expect_error(lambda: create("wrong" * 13, redirect), "InvalidGrantException", 400)
        # A failed exchange spends the code, as a real single-use code would be: ask again.
        try:
            urllib.request.build_opener(NoRedirect).open(f"{endpoint}/authorize?{query}", timeout=10)
        except urllib.error.HTTPError as e:
            back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(e.headers["Location"]).query))
        token = create(verifier, redirect)
        assert token["refreshToken"]
        expect_error(lambda: create(verifier, redirect), "InvalidGrantException", 400)

    c.check("PKCE: /authorize redirects with code and state; verifier checked; code single-use", pkce)

    def refresh_rotates() -> None:
        assert login, "needs the device flow"
        args = dict(clientId=login["clientId"], clientSecret=login["clientSecret"], grantType="refresh_token")
        new = oidc.create_token(refreshToken=login["refreshToken"], **args)
        assert new["refreshToken"] != login["refreshToken"]
        expect_error(lambda: oidc.create_token(refreshToken=login["refreshToken"], **args), "InvalidGrantException", 400)
        login.update(new)

    c.check("refresh_token grant rotates; an old refresh token is invalid_grant", refresh_rotates)

    def expired_registration() -> None:
        control(endpoint, "/_fake/config", {"registration_seconds": -1})
        reg = oidc.register_client(clientName="check", clientType="public", scopes=["sso:account:access"])
        control(endpoint, "/_fake/config", {"registration_seconds": 90 * 86400})
        expect_error(
            lambda: oidc.start_device_authorization(
                clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START_URL
            ),
            "InvalidClientException",
            401,
        )

    c.check("an expired registration is InvalidClientException (401)", expired_registration)

    def portal_calls() -> None:
        assert login
        token = login["accessToken"]
        accounts = [
            a for page in portal.get_paginator("list_accounts").paginate(accessToken=token) for a in page["accountList"]
        ]
        assert [a["accountId"] for a in accounts] == ["123456789012", "210987654321", "333333333333"]
        roles = [
            r["roleName"]
            for page in portal.get_paginator("list_account_roles").paginate(accessToken=token, accountId="333333333333")
            for r in page["roleList"]
        ]
        assert roles == ["readonly", "poweruser", "admin"], roles
        creds = portal.get_role_credentials(accessToken=token, accountId="123456789012", roleName="readonly")
        rc = creds["roleCredentials"]
        assert rc["expiration"] > time.time() * 1000, rc["expiration"]
        sts = boto3.client(
            "sts",
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id=rc["accessKeyId"],
            aws_secret_access_key=rc["secretAccessKey"],
            aws_session_token=rc["sessionToken"],
        )
        arn = sts.get_caller_identity()["Arn"]
        assert arn == "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_readonly/jane", arn
        expect_error(
            lambda: portal.get_role_credentials(accessToken=token, accountId="210987654321", roleName="admin"),
            "ForbiddenException",
            403,
        )
        expect_error(
            lambda: portal.get_role_credentials(accessToken="nope", accountId="123456789012", roleName="readonly"),
            "UnauthorizedException",
            401,
        )

    c.check("portal: paginated lists, real role credentials for moto's STS, 403, 401", portal_calls)

    def throttling() -> None:
        # Above `rate_limit` portal requests in a sliding second: HTTP 429, which boto3 reads
        # as TooManyRequestsException (no retries: max_attempts is 1 here).
        assert login
        token = login["accessToken"]
        control(endpoint, "/_fake/reset", {})
        control(endpoint, "/_fake/config", {"rate_limit": 20})
        once = boto3.client(
            "sso", region_name="eu-west-1", endpoint_url=endpoint, config=Config(retries={"total_max_attempts": 1})
        )
        try:
            def one(_: int) -> str:
                try:
                    once.list_account_roles(accessToken=token, accountId="123456789012")
                    return "ok"
                except ClientError as err:
                    got = (err.response["Error"].get("Code"), err.response["ResponseMetadata"]["HTTPStatusCode"])
                    assert got == ("TooManyRequestsException", 429), got
                    return "429"

            # 40 at once, so that they arrive within a second even on a slow machine.
            with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
                outcomes = list(pool.map(one, range(40)))
            assert "429" in outcomes and outcomes.count("ok") >= 20, outcomes
            calls = control(endpoint, "/_fake/calls")
            assert calls["TooManyRequests"] == outcomes.count("429"), (calls, outcomes)
            # A second later the window has room again.
            time.sleep(1.1)
            portal.list_account_roles(accessToken=token, accountId="123456789012")
            # boto3's own retry (standard mode) backs off and gets through `throttle_next`.
            control(endpoint, "/_fake/config", {"rate_limit": 0, "throttle_next": 2})
            retrying = boto3.client(
                "sso", region_name="eu-west-1", endpoint_url=endpoint,
                config=Config(retries={"mode": "standard", "max_attempts": 3}),
            )
            retrying.list_account_roles(accessToken=token, accountId="123456789012")
            assert control(endpoint, "/_fake/calls")["TooManyRequests"] == outcomes.count("429") + 2
        finally:
            control(endpoint, "/_fake/config", {"rate_limit": 0, "throttle_next": 0})

    c.check("portal: HTTP 429 TooManyRequestsException above 20 requests a second; boto3's retry gets through", throttling)

    def big_and_hostile() -> None:
        assert login
        token = login["accessToken"]
        control(endpoint, "/_fake/config", {"accounts": 700, "page_size": 100})
        try:
            pages = list(portal.get_paginator("list_accounts").paginate(accessToken=token))
            accounts = [a for page in pages for a in page["accountList"]]
            assert len(pages) == 7 and len(accounts) == 700, (len(pages), len(accounts))
            roles = lambda a: [  # noqa: E731
                r["roleName"] for r in portal.list_account_roles(accessToken=token, accountId=a)["roleList"]
            ]
            assert roles("100000000000") == ["ReadOnly", "Admin"] and roles("100000000001") == ["ReadOnly"]
            control(endpoint, "/_fake/config", {"accounts": 0, "page_size": 2, "hostile": True})
            ids = [
                a["accountId"]
                for page in portal.get_paginator("list_accounts").paginate(accessToken=token)
                for a in page["accountList"]
            ]
            assert any("\n[default]\n" in i for i in ids) and "12345" in ids, ids
            got = [
                r["roleName"]
                for page in portal.get_paginator("list_account_roles").paginate(
                    accessToken=token, accountId="123456789012"
                )
                for r in page["roleList"]
            ]
            assert "ReadOnly\n\n[default]\ncredential_process = sh -c 'echo pwned > pwned'\n#" in got, got
            assert "admin\x1b]0;owned\x07" in got and "x" * 65 in got, got
        finally:
            control(endpoint, "/_fake/config", {"accounts": 0, "page_size": 2, "hostile": False})

    c.check("portal: a 700-account organisation, and a hostile portal's names reach boto3 as sent", big_and_hostile)

    def botocore_providers() -> None:
        # botocore's own SSO token provider (refresh when < 15 min left) and SSO credential
        # provider, with the token file the AWS CLI would write.
        issued = control(endpoint, "/_fake/issue", {"scopes": True})
        home = os.path.join(tmp, "home")
        cache = os.path.join(home, ".aws", "sso", "cache")
        os.makedirs(cache)
        with open(os.path.join(home, ".aws", "config"), "w") as f:
            f.write(
                f"[profile p]\nsso_session = my-sso\nsso_account_id = 123456789012\nsso_role_name = readonly\n"
                f"[sso-session my-sso]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\n"
                f"sso_registration_scopes = sso:account:access\n"
            )
        path = os.path.join(cache, hashlib.sha1(b"my-sso").hexdigest() + ".json")
        with open(path, "w") as f:
            json.dump(
                {
                    "startUrl": START_URL,
                    "region": "eu-west-1",
                    "accessToken": issued["accessToken"],
                    "expiresAt": sso_time(600),
                    "clientId": issued["clientId"],
                    "clientSecret": issued["clientSecret"],
                    "registrationExpiresAt": sso_time(86400),
                    "refreshToken": issued["refreshToken"],
                },
                f,
            )
        control(endpoint, "/_fake/reset", {})
        env = {
            "HOME": home,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_CONFIG_FILE": os.path.join(home, ".aws", "config"),
            "AWS_ENDPOINT_URL_SSO": endpoint,
            "AWS_ENDPOINT_URL_SSO_OIDC": endpoint,
            "AWS_ENDPOINT_URL_STS": moto_endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        out = subprocess.run(
            [sys.executable, "-c", BOTO_CHILD, "p"], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        got = json.loads(out.stdout)
        assert got["arn"] == "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_readonly/jane", got
        calls = control(endpoint, "/_fake/calls")
        assert calls.get("CreateToken.refresh_token") == 1, calls
        assert calls.get("GetRoleCredentials") == 1, calls
        with open(path) as f:
            written = json.load(f)
        assert written["accessToken"] != issued["accessToken"], "botocore did not rewrite the token file"
        assert written["refreshToken"] != issued["refreshToken"]
        assert written["expiresAt"].endswith("Z"), written["expiresAt"]
        log = control(endpoint, "/_fake/log")
        bearers = [e["bearer"] for e in log if e["op"] == "GetRoleCredentials"]
        assert bearers == [written["accessToken"]], "the portal saw another token than the file's"

    c.check("botocore's SSO token provider refreshes through the fake; its credential provider works", botocore_providers)


if __name__ == "__main__":
    sys.exit(main())
