#!/usr/bin/env python3
"""Self-test for vault_moto.py: proves the fake STS/IAM behaves the way vault's tests rely on.

It owns nothing but checks: it launches vault_moto.py as a subprocess (the
way the Rust tests do), reads the state file, and exercises the server with
boto3, raw signed HTTP (to see the exact error XML the Rust SDK parses) and,
if installed, the real `aws` CLI. It computes TOTP codes itself only to
cross-check the server's /_vault_test/totp endpoint.

    python3 tests/support/check_vault_moto.py

Prints "N passed, 0 failed" and exits 0 on success, non-zero otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any, Callable

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "vault_moto.py")

MFA_INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
MFA_UNKNOWN_DEVICE = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user."
)
CHAINING_LIMIT = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
MAX_SESSION_LIMIT = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


def totp(seed_base32: str, counter: int) -> str:
    key = base64.b32decode(seed_base32 + "=" * (-len(seed_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


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


def expect_error(fn: Callable[[], Any], code: str, status: int, message: str | None = None) -> ClientError:
    try:
        fn()
    except ClientError as err:
        got = (err.response["Error"].get("Code"), err.response["ResponseMetadata"]["HTTPStatusCode"])
        assert got == (code, status), f"expected {(code, status)}, got {got}: {err.response['Error']}"
        if message is not None:
            assert err.response["Error"].get("Message") == message, repr(err.response["Error"].get("Message"))
        return err
    raise AssertionError(f"expected {code}, call succeeded")


def main() -> int:
    c = Checker()
    tmp = tempfile.mkdtemp(prefix="vault-moto-check-")
    state_path = os.path.join(tmp, "state.json")

    launched = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, SERVER, "--port", "0", "--state-file", state_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = proc.stdout.readline().strip()
        startup = time.monotonic() - launched
        assert ready.startswith("READY http://127.0.0.1:"), f"unexpected first line {ready!r}"
        print(f"startup (launch -> READY): {startup:.2f}s")
        with open(state_path) as f:
            state = json.load(f)
        run_checks(c, state, ready.split()[1])

        def exits_on_stdin_eof() -> None:
            proc.stdin.close()
            rc = proc.wait(timeout=10)
            assert rc == 0, f"exit code {rc}"

        c.check("server exits cleanly when its stdin closes", exits_on_stdin_eof)

        def exits_on_sigterm() -> None:
            other = subprocess.Popen(
                [sys.executable, SERVER, "--port", "0", "--state-file", os.path.join(tmp, "other.json")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert other.stdout.readline().startswith("READY "), "second server did not start"
                other.send_signal(signal.SIGTERM)
                assert other.wait(timeout=10) == 0, other.returncode
            finally:
                if other.poll() is None:
                    other.kill()
                    other.wait()

        c.check("a second server (own port) starts and exits cleanly on SIGTERM", exits_on_sigterm)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{c.passed} passed, {c.failed} failed")
    return 0 if c.failed == 0 else 1


def run_checks(c: Checker, state: dict[str, Any], ready_endpoint: str) -> None:
    endpoint = state["endpoint"]
    jane, bob, roles = state["users"]["jane"], state["users"]["bob"], state["roles"]
    serial, seed = jane["mfa_serial"], jane["mfa_seed"]
    boto_config = Config(retries={"max_attempts": 1})

    def client(service: str, key: str, secret: str, token: str | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=boto_config,
        )

    def sts_for(creds: dict[str, str]) -> Any:
        return client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

    def http(method: str, path: str, data: bytes | None = None) -> tuple[int, str]:
        req = urllib.request.Request(endpoint + path, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def server_code(offset: int) -> str:
        status, body = http("GET", f"/_vault_test/totp?serial={serial}&offset={offset}")
        assert status == 200, (status, body)
        return body

    # The server accepts the windows current-1..current+1, each once. Track
    # what we spent so every MFA step gets an unspent code, waiting for the
    # next window if all three are gone.
    spent: set[str] = set()

    def fresh_code() -> str:
        for _ in range(3):
            for offset in (0, 1, -1):
                code = server_code(offset)
                if code not in spent:
                    spent.add(code)
                    return code
            time.sleep(30 - time.time() % 30 + 0.5)
        raise AssertionError("no unspent TOTP code")

    jane_sts = client("sts", jane["access_key_id"], jane["secret_access_key"])
    bob_sts = client("sts", bob["access_key_id"], bob["secret_access_key"])

    # --- state file and helpers ---------------------------------------------
    def state_shape() -> None:
        assert ready_endpoint == endpoint and state["port"] == int(endpoint.rsplit(":", 1)[1])
        assert state["account"] == "123456789012"
        assert serial == "arn:aws:iam::123456789012:mfa/jane", serial
        assert bob["mfa_serial"] is None
        assert set(roles) == {"admin", "readonly", "partner", "chained"}, roles

    c.check("state file has the documented shape", state_shape)

    def totp_matches_rfc_and_server() -> None:
        # RFC 6238 appendix B, SHA1, T=59s, truncated to 6 digits.
        assert totp(base64.b32encode(b"12345678901234567890").decode(), 59 // 30) == "287082"
        for offset in (-1, 0, 1):
            before = int(time.time() // 30)
            got = server_code(offset)
            if before == int(time.time() // 30):
                assert got == totp(seed, before + offset), (offset, got)
        status, _ = http("GET", "/_vault_test/totp?serial=arn:aws:iam::123456789012:mfa/nobody")
        assert status == 404, status

    c.check("/_vault_test/totp returns RFC 6238 codes for the state's seed", totp_matches_rfc_and_server)

    # --- long-term keys ------------------------------------------------------
    def jane_identity() -> None:
        ident = jane_sts.get_caller_identity()
        assert ident["Arn"] == jane["arn"] and ident["Account"] == "123456789012", ident

    c.check("jane's keys get her caller identity", jane_identity)

    def root_identity() -> None:
        root = state["root"]
        ident = client("sts", root["access_key_id"], root["secret_access_key"]).get_caller_identity()
        assert ident["Arn"] == "arn:aws:iam::123456789012:root" == root["arn"], ident
        assert ident["UserId"] == "123456789012", ident
        iam = client("iam", root["access_key_id"], root["secret_access_key"])
        assert {u["UserName"] for u in iam.list_users()["Users"]} >= {"jane", "bob"}
        expect_error(
            client("sts", root["access_key_id"], "not-the-secret").get_caller_identity, "SignatureDoesNotMatch", 403
        )

    c.check("the root user's keys say :root, and no policy limits them", root_identity)

    c.check(
        "a wrong secret is refused",
        lambda: expect_error(
            client("sts", jane["access_key_id"], "not-the-secret").get_caller_identity, "SignatureDoesNotMatch", 403
        ),
    )
    c.check(
        "an unknown access key is refused",
        lambda: expect_error(
            client("sts", "AKIAXXXXXXXXXXXXXXXX", "x").get_caller_identity, "InvalidClientTokenId", 403
        ),
    )

    # --- GetSessionToken + MFA ----------------------------------------------
    first_code = fresh_code()

    def session_with_mfa() -> dict[str, str]:
        creds = jane_sts.get_session_token(SerialNumber=serial, TokenCode=first_code, DurationSeconds=3600)["Credentials"]
        assert creds["AccessKeyId"].startswith("ASIA") and creds["AccessKeyId"] != "AKIAIOSFODNN7EXAMPLE", creds
        ident = sts_for(creds).get_caller_identity()
        assert ident["Arn"] == jane["arn"], ident
        return creds

    mfa_session = c.check("GetSessionToken with a right code works and its creds work", session_with_mfa)

    c.check(
        "the same code again is refused",
        lambda: expect_error(
            lambda: jane_sts.get_session_token(SerialNumber=serial, TokenCode=first_code), "AccessDenied", 403, MFA_INVALID_CODE
        ),
    )

    def wrong_code() -> None:
        valid = {server_code(o) for o in (-1, 0, 1)}
        bad = next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)
        expect_error(lambda: jane_sts.get_session_token(SerialNumber=serial, TokenCode=bad), "AccessDenied", 403, MFA_INVALID_CODE)

    c.check("a wrong code is refused", wrong_code)

    def fresh_credentials_each_call() -> None:
        second = jane_sts.get_session_token(SerialNumber=serial, TokenCode=fresh_code())["Credentials"]
        assert second["AccessKeyId"] != mfa_session["AccessKeyId"]
        assert second["SessionToken"] != mfa_session["SessionToken"]
        assert sts_for(second).get_caller_identity()["Arn"] == jane["arn"]

    c.check("GetSessionToken returns fresh credentials each call", fresh_credentials_each_call)

    c.check(
        "bob cannot use jane's MFA device",
        lambda: expect_error(
            lambda: bob_sts.get_session_token(SerialNumber=serial, TokenCode="123456"), "AccessDenied", 403, MFA_UNKNOWN_DEVICE
        ),
    )
    c.check(
        "an unknown serial is refused",
        lambda: expect_error(
            lambda: jane_sts.get_session_token(SerialNumber="arn:aws:iam::123456789012:mfa/nope", TokenCode="123456"),
            "AccessDenied",
            403,
            MFA_UNKNOWN_DEVICE,
        ),
    )
    c.check(
        "a TokenCode without SerialNumber is refused",
        lambda: expect_error(lambda: jane_sts.get_session_token(TokenCode="123456"), "AccessDenied", 403),
    )
    c.check(
        "GetSessionToken with session credentials is refused",
        lambda: expect_error(
            sts_for(mfa_session).get_session_token, "AccessDenied", 403, "Cannot call GetSessionToken with session credentials"
        ),
    )

    def wrong_session_token() -> None:
        forged = dict(mfa_session, SessionToken=mfa_session["SessionToken"][:-4] + "AAAA")
        expect_error(sts_for(forged).get_caller_identity, "InvalidClientTokenId", 403)

    c.check("session credentials with a wrong token are refused", wrong_session_token)

    def bob_plain_session() -> dict[str, str]:
        creds = bob_sts.get_session_token()["Credentials"]
        assert sts_for(creds).get_caller_identity()["Arn"] == bob["arn"]
        return creds

    bob_session = c.check("bob (no MFA device) gets a plain session", bob_plain_session)

    def iam_needs_mfa_session() -> None:
        iam_plain = client("iam", bob_session["AccessKeyId"], bob_session["SecretAccessKey"], bob_session["SessionToken"])
        expect_error(lambda: iam_plain.get_user(), "InvalidClientTokenId", 403)
        iam_mfa = client("iam", mfa_session["AccessKeyId"], mfa_session["SecretAccessKey"], mfa_session["SessionToken"])
        assert iam_mfa.get_user()["User"]["Arn"] == jane["arn"]

    c.check("IAM refuses non-MFA session creds, accepts MFA ones", iam_needs_mfa_session)

    # --- AssumeRole -----------------------------------------------------------
    def denied(caller_arn: str, role: str) -> str:
        return f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {roles[role]}"

    c.check(
        "AssumeRole admin without MFA is refused",
        lambda: expect_error(
            lambda: jane_sts.assume_role(RoleArn=roles["admin"], RoleSessionName="ss"),
            "AccessDenied",
            403,
            denied(jane["arn"], "admin"),
        ),
    )
    c.check(
        "AssumeRole admin with a non-MFA session is refused",
        lambda: expect_error(
            lambda: sts_for(bob_session).assume_role(RoleArn=roles["admin"], RoleSessionName="ss"),
            "AccessDenied",
            403,
            denied(bob["arn"], "admin"),
        ),
    )

    def admin_via_mfa_session() -> dict[str, str]:
        resp = sts_for(mfa_session).assume_role(RoleArn=roles["admin"], RoleSessionName="vault-admin", DurationSeconds=7200)
        want = "arn:aws:sts::123456789012:assumed-role/admin/vault-admin"
        assert resp["AssumedRoleUser"]["Arn"] == want, resp["AssumedRoleUser"]
        assert sts_for(resp["Credentials"]).get_caller_identity()["Arn"] == want
        return resp["Credentials"]

    admin = c.check("AssumeRole admin with MFA-session creds is allowed (identity = assumed role)", admin_via_mfa_session)

    def admin_with_mfa_on_call() -> None:
        resp = jane_sts.assume_role(
            RoleArn=roles["admin"], RoleSessionName="direct", SerialNumber=serial, TokenCode=fresh_code(), DurationSeconds=43200
        )
        assert sts_for(resp["Credentials"]).get_caller_identity()["Arn"].endswith(":assumed-role/admin/direct")

    c.check("AssumeRole admin with SerialNumber/TokenCode on the call is allowed", admin_with_mfa_on_call)

    c.check(
        "AssumeRole with a reused code is refused",
        lambda: expect_error(
            lambda: jane_sts.assume_role(RoleArn=roles["admin"], RoleSessionName="ss", SerialNumber=serial, TokenCode=first_code),
            "AccessDenied",
            403,
            MFA_INVALID_CODE,
        ),
    )

    c.check(
        "DurationSeconds over MaxSessionDuration is refused",
        lambda: expect_error(
            lambda: jane_sts.assume_role(RoleArn=roles["readonly"], RoleSessionName="ss", DurationSeconds=7200),
            "ValidationError",
            400,
            MAX_SESSION_LIMIT,
        ),
    )
    def under_900() -> None:
        # botocore would refuse this itself; the Rust SDK does not validate.
        unvalidated = boto3.client(
            "sts",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=jane["access_key_id"],
            aws_secret_access_key=jane["secret_access_key"],
            config=Config(retries={"max_attempts": 1}, parameter_validation=False),
        )
        expect_error(
            lambda: unvalidated.assume_role(RoleArn=roles["readonly"], RoleSessionName="ss", DurationSeconds=60),
            "ValidationError",
            400,
        )

    c.check("DurationSeconds under 900 is refused", under_900)

    def readonly_for_bob() -> None:
        resp = bob_sts.assume_role(RoleArn=roles["readonly"], RoleSessionName="ro")
        assert sts_for(resp["Credentials"]).get_caller_identity()["Arn"].endswith(":assumed-role/readonly/ro")

    c.check("readonly is assumable without MFA", readonly_for_bob)

    c.check(
        "chaining admin -> chained with 7200s is refused with the chaining message",
        lambda: expect_error(
            lambda: sts_for(admin).assume_role(RoleArn=roles["chained"], RoleSessionName="cc", DurationSeconds=7200),
            "ValidationError",
            400,
            CHAINING_LIMIT,
        ),
    )

    def chaining_3600() -> None:
        resp = sts_for(admin).assume_role(RoleArn=roles["chained"], RoleSessionName="cc", DurationSeconds=3600)
        assert sts_for(resp["Credentials"]).get_caller_identity()["Arn"] == "arn:aws:sts::123456789012:assumed-role/chained/cc"

    c.check("chaining admin -> chained with 3600s is allowed", chaining_3600)

    def readonly_cannot_chain() -> None:
        ro = bob_sts.assume_role(RoleArn=roles["readonly"], RoleSessionName="ro")["Credentials"]
        # readonly's own policy does not grant sts:AssumeRole: refused before trust is even looked at.
        expect_error(lambda: sts_for(ro).assume_role(RoleArn=roles["chained"], RoleSessionName="cc"), "AccessDenied", 403)

    c.check("a role without sts:AssumeRole permission cannot chain", readonly_cannot_chain)

    c.check(
        "partner without ExternalId is refused",
        lambda: expect_error(
            lambda: bob_sts.assume_role(RoleArn=roles["partner"], RoleSessionName="pp"), "AccessDenied", 403, denied(bob["arn"], "partner")
        ),
    )
    c.check(
        "partner with a wrong ExternalId is refused",
        lambda: expect_error(
            lambda: bob_sts.assume_role(RoleArn=roles["partner"], RoleSessionName="pp", ExternalId="ext-999"), "AccessDenied", 403
        ),
    )
    c.check(
        "partner with ExternalId ext-123 is allowed",
        lambda: bob_sts.assume_role(RoleArn=roles["partner"], RoleSessionName="pp", ExternalId="ext-123")["Credentials"],
    )
    c.check(
        "a role that does not exist is refused",
        lambda: expect_error(
            lambda: jane_sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/ghost", RoleSessionName="gg"), "AccessDenied", 403
        ),
    )

    # --- raw wire format (what the Rust SDK parses) ---------------------------
    def signed_post(creds: Credentials, body: str) -> tuple[int, str]:
        req = AWSRequest(
            method="POST",
            url=endpoint + "/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        SigV4Auth(creds, "sts", "us-east-1").add_auth(req)
        return http_raw(req)

    def http_raw(req: AWSRequest) -> tuple[int, str]:
        prepared = req.prepare()
        raw = urllib.request.Request(prepared.url, data=prepared.body.encode(), headers=dict(prepared.headers), method="POST")
        try:
            with urllib.request.urlopen(raw, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def error_is_direct_child(body: str) -> tuple[str, str]:
        root = ET.fromstring(body)
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        assert root.tag == f"{ns}ErrorResponse", root.tag
        error = root.find(f"{ns}Error")
        assert error is not None, f"no <Error> directly under <ErrorResponse>: {body}"
        return error.findtext(f"{ns}Code"), error.findtext(f"{ns}Message")

    def wire_errors() -> None:
        jane_creds = Credentials(jane["access_key_id"], jane["secret_access_key"])
        status, body = signed_post(jane_creds, f"Action=AssumeRole&Version=2011-06-15&RoleArn={roles['admin']}&RoleSessionName=ww")
        assert status == 403 and error_is_direct_child(body) == ("AccessDenied", denied(jane["arn"], "admin")), (status, body)
        status, body = signed_post(Credentials("AKIAXXXXXXXXXXXXXXXX", "x"), "Action=GetCallerIdentity&Version=2011-06-15")
        assert status == 403 and error_is_direct_child(body)[0] == "InvalidClientTokenId", (status, body)

    c.check("error XML has <Error> directly under <ErrorResponse> (Rust SDK shape)", wire_errors)

    def raw_body_signatures() -> None:
        # The Rust SDK encodes a space as %20 (botocore: "+"); other clients
        # may leave ":" and "/" bare. The signature is over the bytes sent.
        jane_creds = Credentials(jane["access_key_id"], jane["secret_access_key"])
        status, body = signed_post(jane_creds, "Action=GetCallerIdentity&Version=2011-06-15&Ignored=a%20b%2Cc")
        assert status == 200 and jane["arn"] in body, (status, body)
        status, body = signed_post(
            jane_creds, f"Action=AssumeRole&Version=2011-06-15&RoleArn={roles['readonly']}&RoleSessionName=raw"
        )
        assert status == 200 and "assumed-role/readonly/raw" in body, (status, body)

    c.check("signatures are checked over the exact body bytes", raw_body_signatures)

    # --- recorder -------------------------------------------------------------
    def recorder_counts() -> None:
        assert http("POST", "/moto-api/recorder/clear-recording")[0] == 200
        assert http("POST", "/moto-api/recorder/start-recording")[0] == 200
        jane_sts.get_caller_identity()
        bob_sts.get_caller_identity()
        expect_error(lambda: bob_sts.assume_role(RoleArn=roles["admin"], RoleSessionName="rr"), "AccessDenied", 403)
        http("GET", f"/_vault_test/totp?serial={serial}")  # test endpoint: not an AWS call, not recorded
        status, text = http("GET", "/moto-api/recorder/download-recording")
        assert status == 200, status
        entries = [json.loads(line) for line in text.splitlines() if line.strip()]
        # Form bodies are kept as plain text so tests/support/mod.rs can grep "Action=".
        assert not any(e.get("body_encoded") for e in entries), entries
        actions = [e["body"] for e in entries]
        assert len(actions) == 3, actions
        assert sum("Action=GetCallerIdentity" in b for b in actions) == 2 and "Action=AssumeRole" in actions[2], actions
        status, calls = http("GET", "/_vault_test/recorded-calls")
        assert (status, calls) == (200, "sts:GetCallerIdentity\nsts:GetCallerIdentity\nsts:AssumeRole\n"), (status, calls)
        assert http("POST", "/moto-api/recorder/stop-recording")[0] == 200
        assert http("POST", "/moto-api/recorder/clear-recording")[0] == 200
        assert http("GET", "/moto-api/recorder/download-recording")[1] == ""

    c.check("the recorder counts STS calls made with auth on", recorder_counts)

    # --- the real aws CLI -----------------------------------------------------
    if shutil.which("aws"):

        def aws_cli() -> None:
            env = {
                k: v for k, v in os.environ.items() if not k.startswith("AWS_")
            } | {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": jane["access_key_id"],
                "AWS_SECRET_ACCESS_KEY": jane["secret_access_key"],
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
            out = subprocess.run(
                ["aws", "sts", "get-caller-identity", "--output", "json"], env=env, capture_output=True, text=True, timeout=60
            )
            assert out.returncode == 0, out.stderr
            assert json.loads(out.stdout)["Arn"] == jane["arn"], out.stdout

        c.check("the aws CLI gets jane's identity via AWS_ENDPOINT_URL", aws_cli)


if __name__ == "__main__":
    sys.exit(main())
