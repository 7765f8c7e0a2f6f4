#!/usr/bin/env python3
"""Local STS/IAM stand-in for vault's integration tests, built on moto.

This file owns everything the Rust tests need from a fake AWS:

* starting moto's server on 127.0.0.1 (never any other interface),
* bootstrapping a fixed cast through boto3 against itself (users ``jane``
  with a virtual MFA device and ``bob`` without, roles ``admin``,
  ``readonly``, ``partner`` and ``chained``),
* turning moto's IAM authentication on and writing a JSON state file,
* patching moto's STS so that it behaves like real AWS where vault cares:
  TOTP-checked MFA with one-use codes, real temporary credentials from
  GetSessionToken, fresh ones from GetFederationToken (refused to session
  callers, as AWS does), trust-policy enforcement on AssumeRole (principals,
  MFA, ExternalId), DurationSeconds limits including role chaining, and
  error bodies in the shape the Rust SDK can parse,
* test-only endpoints: ``GET /_vault_test/totp?serial=ARN&offset=N`` (the
  6-digit code for window current+N, so Rust tests need no TOTP code) and
  ``GET /_vault_test/recorded-calls`` (moto's recording as ``sts:Action``
  lines), ``GET /_vault_test/federation-keys`` (the access key ids
  GetFederationToken handed out, one a line), plus ``/moto-api/recorder/clear-recording`` as an alias of moto's
  ``reset-recording``.

Usage::

    python3 tests/support/vault_moto.py --port 0 --state-file PATH

It prints ``READY http://127.0.0.1:PORT`` once the state file is written and
runs until SIGTERM/SIGINT or until its stdin reaches EOF (so a test process
that dies cannot leave it running). See check_vault_moto.py for a self-test.

State file (written atomically)::

    {"endpoint": "http://127.0.0.1:PORT", "port": PORT, "account": "123456789012",
     "users": {"jane": {"access_key_id", "secret_access_key", "arn",
                        "mfa_serial", "mfa_seed"},     # seed: base32 text
               "bob":  {... same keys, mfa_serial/mfa_seed null}},
     "roles": {"admin": ARN, "readonly": ARN, "partner": ARN, "chained": ARN},
     "root": {"access_key_id", "secret_access_key", "arn"}}

``root`` is an access key of the account's root user (moto has none): signed
calls with it authenticate, GetCallerIdentity answers the account's ``:root``
ARN, and no IAM policy limits it, as at AWS. STS session calls with it are
not modelled and are refused with a message saying so.

Do not call ``/moto-api/reset``: it wipes the bootstrapped users and roles
while this process still remembers sessions and spent codes.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import io
import json
import logging
import os
import re
import signal
import struct
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape as xml_escape

import boto3
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

import moto.core.exceptions as moto_exceptions
import moto.iam.access_control as access_control
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult, BaseResponse
from moto.iam.models import IAMBackend, get_account_id_from, iam_backends
from moto.iam.utils import generate_access_key_id_from_account_id
from moto.moto_api import recorder
from moto.moto_api._internal.recorder.models import Recorder
from moto.core.authorization import ActionAuthenticatorMixin
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sts.models import STSBackend, sts_backends
from moto.sts.responses import TokenResponse
from moto.sts.utils import random_session_token

from fake_http import watch_stdin

ACCOUNT = DEFAULT_ACCOUNT_ID  # "123456789012"
assert ACCOUNT == "123456789012", "moto's default account changed; the tests hard-code it"

# Exact AWS wording (note the trailing space / double space: AWS sends them).
MFA_INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
MFA_UNKNOWN_DEVICE = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user."
)
CHAINING_LIMIT = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
MAX_SESSION_LIMIT = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."

ROLE_CHAINING_MAX_SECONDS = 3600
TOTP_STEP_SECONDS = 30

log = logging.getLogger("vault_moto")


# --------------------------------------------------------------------------
# TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps)
# --------------------------------------------------------------------------


def totp_counter(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // TOTP_STEP_SECONDS)


def totp_code(seed_base32: str, counter: int) -> str:
    key = base64.b32decode(seed_base32.upper() + "=" * (-len(seed_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


# --------------------------------------------------------------------------
# Errors in the shape real STS/IAM send
# --------------------------------------------------------------------------


def aws_error_xml(code: str, message: str, sender: bool = True) -> str:
    # Real awsQuery services put <Error> directly under <ErrorResponse>. moto's
    # generic errors wrap it in <Errors>, which botocore tolerates but the Rust
    # SDK's parser does not (it only looks at direct children of the root), so
    # every error this server sends goes through here.
    kind = "Sender" if sender else "Receiver"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{kind}</Type><Code>{xml_escape(code)}</Code>"
        f"<Message>{xml_escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )


class AwsError(HTTPException):
    """An AWS-shaped error; moto's dispatcher turns any HTTPException into a response."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__()
        self.code = status  # werkzeug's name for the HTTP status
        self.error_type = code
        self.message = message
        self.description = aws_error_xml(code, message)

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", "text/xml"), ("X-Amzn-ErrorType", self.error_type)]


def access_denied(message: str) -> AwsError:
    return AwsError(403, "AccessDenied", message)


def validation_error(message: str) -> AwsError:
    return AwsError(400, "ValidationError", message)


def invalid_client_token() -> AwsError:
    return AwsError(403, "InvalidClientTokenId", "The security token included in the request is invalid.")


# --------------------------------------------------------------------------
# What this process remembers on top of moto
# --------------------------------------------------------------------------


@dataclass
class UserSession:
    """Credentials handed out by GetSessionToken (moto keeps none of its own)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    user_name: str
    user_arn: str
    account: str
    expiration: datetime.datetime
    mfa_at: float | None  # when MFA was proven, None if the session has no MFA


@dataclass
class RoleSessionInfo:
    """Extra facts about a moto AssumeRole session that moto does not keep."""

    mfa_at: float | None


@dataclass
class Caller:
    """Who signed a request, as far as trust policies are concerned."""

    kind: str  # "user" (long-term key), "user-session" (GetSessionToken) or "assumed-role"
    arn: str  # the ARN GetCallerIdentity would return
    account: str
    principal_arn: str  # user ARN or role ARN, i.e. aws:PrincipalArn
    user_name: str | None
    mfa_at: float | None

    @property
    def temporary(self) -> bool:
        return self.kind != "user"


class VaultState:
    def __init__(self) -> None:
        # The werkzeug server is threaded; every read-modify-write goes under this lock.
        self.lock = threading.Lock()
        self.user_sessions: dict[str, UserSession] = {}
        self.role_sessions: dict[str, RoleSessionInfo] = {}
        self.used_totp: set[tuple[str, int]] = set()  # (serial, counter) already accepted
        self.federation_keys: list[str] = []  # access key ids GetFederationToken handed out
        self.root_keys: dict[str, str] = {}  # the root user's access key id -> secret


STATE = VaultState()


def utcnow() -> datetime.datetime:
    # moto's models use naive UTC datetimes; stay comparable with them.
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def whole_seconds(moment: datetime.datetime) -> datetime.datetime:
    # AWS sends Expiration as 2006-01-02T15:04:05Z, without fractions.
    return moment.replace(microsecond=0)


def iam_backend(account: str = ACCOUNT, partition: str = "aws") -> Any:
    return iam_backends[account][partition]


def root_arn(account: str = ACCOUNT, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:root"


def resolve_caller(access_key_id: str, partition: str = "aws") -> Caller:
    with STATE.lock:
        session = STATE.user_sessions.get(access_key_id)
        role_info = STATE.role_sessions.get(access_key_id)
        root = access_key_id in STATE.root_keys
    if root:
        raise access_denied("vault_moto does not model STS session calls made with the root user's keys")
    if session is not None:
        return Caller("user-session", session.user_arn, session.account, session.user_arn, session.user_name, session.mfa_at)

    account = get_account_id_from(access_key_id)
    assumed = sts_backends[account][partition].get_assumed_role_from_access_key(access_key_id)
    if assumed is not None:
        return Caller(
            "assumed-role",
            assumed.arn,
            assumed.account_id,
            assumed.role_arn,
            None,
            role_info.mfa_at if role_info else None,
        )

    user = iam_backend(account, partition).get_user_from_access_key_id(access_key_id)
    if user is not None:
        return Caller("user", user.arn, user.account_id, user.arn, user.name, None)

    # moto's auth layer rejects unknown keys before we get here once auth is on.
    raise invalid_client_token()


# --------------------------------------------------------------------------
# MFA
# --------------------------------------------------------------------------


def validate_token_code_syntax(code: str) -> None:
    if not re.fullmatch(r"\d*", code):
        raise validation_error(
            f"1 validation error detected: Value '{code}' at 'tokenCode' failed to satisfy constraint: "
            r"Member must satisfy regular expression pattern: [\d]*"
        )
    if len(code) != 6:
        bound = "greater than or equal to 6" if len(code) < 6 else "less than or equal to 6"
        raise validation_error(
            f"1 validation error detected: Value '{code}' at 'tokenCode' failed to satisfy constraint: "
            f"Member must have length {bound}"
        )


def verify_mfa(caller: Caller, serial: str | None, code: str | None, partition: str) -> float | None:
    """Check SerialNumber/TokenCode like AWS; return the MFA time, or None if no MFA was offered.

    The accepted window is consumed at once, even if the call is refused later
    (e.g. by a trust policy): AWS treats every code as single-use.
    """
    if not serial and not code:
        return None
    if code is not None:
        validate_token_code_syntax(code)
    if not serial:
        # AWS cannot tie a code to a device without the serial.
        raise access_denied(MFA_UNKNOWN_DEVICE)

    device = iam_backend(caller.account, partition).virtual_mfa_devices.get(serial)
    if device is None or device.user is None:
        raise access_denied(MFA_UNKNOWN_DEVICE)
    # A user may only use their own device; role sessions have no devices of
    # their own, so any enabled device of the account will do for them.
    if caller.user_name is not None and device.user.name != caller.user_name:
        raise access_denied(MFA_UNKNOWN_DEVICE)
    if not code:
        raise access_denied(MFA_INVALID_CODE)

    now = totp_counter()
    with STATE.lock:
        for counter in (now, now - 1, now + 1):
            if (serial, counter) in STATE.used_totp:
                continue
            if hmac.compare_digest(totp_code(device.base32_string_seed, counter), code):
                STATE.used_totp.add((serial, counter))
                return time.time()
    raise access_denied(MFA_INVALID_CODE)


# --------------------------------------------------------------------------
# Trust policies (AssumeRole)
# --------------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in as_list(principal.get("AWS", [])):
        if value == "*":
            return True
        # Naming the account (bare id or its root ARN) delegates to every
        # principal of that account; IAM policies then decide.
        if value == caller.account or re.fullmatch(rf"arn:aws[\w-]*:iam::{caller.account}:root", value):
            return True
        if value in (caller.principal_arn, caller.arn):
            return True
    return False


def _compare(op: str, expected: str, actual: str) -> bool:
    if op in ("StringEquals", "StringNotEquals"):
        return actual == expected
    if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() == expected.lower()
    if op in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals", "ArnNotEquals"):
        return wildcard_match(expected, actual)
    if op == "Bool":
        return actual.lower() == expected.lower()
    if op.startswith("Numeric"):
        a, e = float(actual), float(expected)
        return {
            "NumericEquals": a == e,
            "NumericNotEquals": a == e,
            "NumericLessThan": a < e,
            "NumericLessThanEquals": a <= e,
            "NumericGreaterThan": a > e,
            "NumericGreaterThanEquals": a >= e,
        }[op]
    raise KeyError(op)


def conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for raw_op, pairs in conditions.items():
        if_exists = raw_op.endswith("IfExists")
        op = raw_op[: -len("IfExists")] if if_exists else raw_op
        negated = "Not" in op
        for key, expected_values in pairs.items():
            expected = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(expected_values)]
            actual = context.get(key.lower())
            if op == "Null":
                if (actual is None) != (expected[0].lower() == "true"):
                    return False
                continue
            if actual is None:
                # AWS: a missing key fails a positive operator, satisfies a negated one.
                if if_exists or negated:
                    continue
                return False
            try:
                hit = any(_compare(op, e, actual) for e in expected)
            except (KeyError, ValueError):
                log.warning("unsupported trust condition %s on %s; denying", raw_op, key)
                return False
            if hit == negated:
                return False
    return True


def trust_allows(policy_document: str, caller: Caller, context: dict[str, str]) -> bool:
    doc = json.loads(policy_document)
    allowed = False
    for statement in as_list(doc.get("Statement", [])):
        if "NotAction" in statement:
            if any(wildcard_match(a, "sts:AssumeRole", True) for a in as_list(statement["NotAction"])):
                continue
        elif not any(wildcard_match(a, "sts:AssumeRole", True) for a in as_list(statement.get("Action", []))):
            continue
        if not principal_matches(statement.get("Principal"), caller):
            continue
        if not conditions_hold(statement.get("Condition", {}), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def trust_context(caller: Caller, mfa_at: float | None, external_id: str | None, session_name: str) -> dict[str, str]:
    """The request context keys a trust policy may test (lower-cased: keys are case-insensitive)."""
    ctx = {
        "aws:principalarn": caller.principal_arn,
        "aws:principalaccount": caller.account,
        "aws:principaltype": "AssumedRole" if caller.kind == "assumed-role" else "User",
        "sts:rolesessionname": session_name,
    }
    if caller.user_name:
        ctx["aws:username"] = caller.user_name
    if mfa_at is not None:
        ctx["aws:multifactorauthpresent"] = "true"
        ctx["aws:multifactorauthage"] = str(int(time.time() - mfa_at))
    elif caller.temporary:
        # Long-term keys carry no MFA key at all; temporary ones say "false".
        ctx["aws:multifactorauthpresent"] = "false"
    if external_id is not None:
        ctx["sts:externalid"] = external_id
    return ctx


# --------------------------------------------------------------------------
# Patched STS actions
# --------------------------------------------------------------------------

_original_assume_role = TokenResponse.assume_role
_original_get_user_from_access_key_id = IAMBackend.get_user_from_access_key_id


def _duration_bounds(value: int, upper: int) -> None:
    if value < 900:
        raise validation_error(
            f"1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint: "
            "Member must have value greater than or equal to 900"
        )
    if value > upper:
        raise validation_error(
            f"1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint: "
            f"Member must have value less than or equal to {upper}"
        )


def get_session_token(self: TokenResponse) -> Any:
    caller = resolve_caller(self.get_access_key(), self.partition)
    if caller.temporary:
        raise access_denied("Cannot call GetSessionToken with session credentials")
    duration = self._get_int_param("DurationSeconds", 43200)
    _duration_bounds(duration, 129600)
    mfa_at = verify_mfa(caller, self._get_param("SerialNumber"), self._get_param("TokenCode"), self.partition)

    # A moto temp key (rather than a random string) keeps moto's account
    # lookup by access key id working for these credentials.
    key = iam_backend(caller.account, self.partition).create_temp_access_key()
    user = iam_backend(caller.account, self.partition).get_user(caller.user_name)
    session = UserSession(
        access_key_id=key.access_key_id,
        secret_access_key=key.secret_access_key,
        session_token=random_session_token(),
        user_name=user.name,
        user_arn=user.arn,
        account=caller.account,
        expiration=whole_seconds(utcnow() + datetime.timedelta(seconds=duration)),
        mfa_at=mfa_at,
    )
    with STATE.lock:
        STATE.user_sessions[session.access_key_id] = session
    return ActionResult(
        {
            "Credentials": {
                "AccessKeyId": session.access_key_id,
                "SecretAccessKey": session.secret_access_key,
                "SessionToken": session.session_token,
                "Expiration": session.expiration,
            }
        }
    )


def assume_role(self: TokenResponse) -> Any:
    caller = resolve_caller(self.get_access_key(), self.partition)
    role_arn = self._get_param("RoleArn") or ""
    session_name = self._get_param("RoleSessionName") or ""
    requested = self._get_param("DurationSeconds")
    external_id = self._get_param("ExternalId")

    if not 2 <= len(session_name) <= 64:
        bound = "greater than or equal to 2" if len(session_name) < 2 else "less than or equal to 64"
        raise validation_error(
            f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy "
            f"constraint: Member must have length {bound}"
        )
    if not re.fullmatch(r"[\w+=,.@-]*", session_name):
        raise validation_error(
            f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy "
            r"constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
        )
    if requested is not None:
        _duration_bounds(int(requested), 43200)

    call_mfa_at = verify_mfa(caller, self._get_param("SerialNumber"), self._get_param("TokenCode"), self.partition)
    # MFA proven on this call, or carried by the caller's own session.
    mfa_at = call_mfa_at if call_mfa_at is not None else caller.mfa_at

    denied = access_denied(f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    match = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):role/.+", role_arn)
    if not match:
        raise denied
    try:
        role = iam_backend(match.group(1), self.partition).get_role_by_arn(role_arn)
    except Exception:
        raise denied from None
    if not trust_allows(role.assume_role_policy_document, caller, trust_context(caller, mfa_at, external_id, session_name)):
        raise denied

    duration = int(requested) if requested is not None else 3600
    if caller.kind == "assumed-role" and duration > ROLE_CHAINING_MAX_SECONDS:
        raise validation_error(CHAINING_LIMIT)
    if duration > int(role.max_session_duration or 3600):
        raise validation_error(MAX_SESSION_LIMIT)

    result = _original_assume_role(self)
    assumed = result.result["Credentials"]  # moto's AssumedRole model
    assumed.expiration = whole_seconds(assumed.expiration)
    with STATE.lock:
        STATE.role_sessions[assumed.access_key_id] = RoleSessionInfo(mfa_at=mfa_at)
    return result


def get_federation_token(self: TokenResponse) -> Any:
    # moto hands every caller the same example keys; AWS refuses session callers,
    # checks Name and DurationSeconds, and issues fresh temporary credentials.
    caller = resolve_caller(self.get_access_key(), self.partition)
    if caller.temporary:
        raise access_denied("Cannot call GetFederationToken with session credentials")
    duration = self._get_int_param("DurationSeconds", 43200)
    _duration_bounds(duration, 129600)
    name = self._get_param("Name") or ""
    if not 2 <= len(name) <= 32 or not re.fullmatch(r"[\w+=,.@-]*", name):
        raise validation_error(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            r"Member must have length between 2 and 32 and match [\w+=,.@-]*"
        )
    key = generate_access_key_id_from_account_id(caller.account, "ASIA")
    with STATE.lock:
        STATE.federation_keys.append(key)
    return ActionResult(
        {
            "Credentials": {
                "AccessKeyId": key,
                "SecretAccessKey": base64.b64encode(os.urandom(30)).decode(),
                "SessionToken": random_session_token(),
                "Expiration": whole_seconds(utcnow() + datetime.timedelta(seconds=duration)),
            },
            "FederatedUser": {
                "FederatedUserId": f"{caller.account}:{name}",
                "Arn": f"arn:aws:sts::{caller.account}:federated-user/{name}",
            },
            "PackedPolicySize": 6,
        }
    )


def get_user_from_access_key_id(self: IAMBackend, access_key_id: str) -> Any:
    # moto answers GetCallerIdentity and IAM GetUser (no UserName) through
    # this lookup; teach it GetSessionToken keys so both name the user.
    with STATE.lock:
        session = STATE.user_sessions.get(access_key_id)
    if session is not None and session.account == self.account_id:
        return self.get_user(session.user_name)
    return _original_get_user_from_access_key_id(self, access_key_id)


# --------------------------------------------------------------------------
# Patched authentication (moto.iam.access_control)
# --------------------------------------------------------------------------


class UserSessionAccessKey(access_control.IAMUserAccessKey):
    """Lets moto's signature check and policy lookup treat GetSessionToken credentials as the user."""

    def __init__(self, account_id: str, partition: str, session: UserSession, headers: Any):
        self.account_id = account_id
        self.partition = partition
        self.session = session
        self._owner_user_name = session.user_name
        self._access_key_id = session.access_key_id
        self._secret_access_key = session.secret_access_key
        if headers.get("X-Amz-Security-Token") != session.session_token:
            raise access_control.CreateAccessKeyFailure(reason="InvalidToken")

    def create_credentials(self) -> Credentials:
        return Credentials(self._access_key_id, self._secret_access_key, self.session.session_token)


class RootAccessKey(access_control.IAMUserAccessKey):
    """The root user's key: signs like a user's long-term key (moto's signature check uses
    the inherited credentials), and no policy applies to it."""

    def __init__(self, account_id: str, partition: str, access_key_id: str, secret: str, headers: Any):
        self.account_id = account_id
        self.partition = partition
        self._access_key_id = access_key_id
        self._secret_access_key = secret
        if "X-Amz-Security-Token" in headers:
            raise access_control.CreateAccessKeyFailure(reason="InvalidToken")

    @property
    def arn(self) -> str:
        return root_arn(self.account_id, self.partition)

    def collect_policies(self) -> list[dict[str, str]]:
        return []


_original_create_access_key = access_control.create_access_key
_original_get_caller_identity = STSBackend.get_caller_identity
_original_check_action_permitted = access_control.IAMRequestBase.check_action_permitted


def _expired() -> AwsError:
    return AwsError(403, "ExpiredToken", "The security token included in the request is expired")


def create_access_key(account_id: str, partition: str, access_key_id: str, headers: Any) -> Any:
    with STATE.lock:
        session = STATE.user_sessions.get(access_key_id)
        root_secret = STATE.root_keys.get(access_key_id)
    if root_secret is not None:
        return RootAccessKey(account_id, partition, access_key_id, root_secret, headers)
    if session is not None:
        if session.expiration <= utcnow():
            raise _expired()
        return UserSessionAccessKey(account_id, partition, session, headers)
    key = _original_create_access_key(account_id, partition, access_key_id, headers)
    if isinstance(key, access_control.AssumedRoleAccessKey):
        assumed = sts_backends[account_id][partition].get_assumed_role_from_access_key(access_key_id)
        if assumed is not None and assumed.expiration <= utcnow():
            raise _expired()
    return key


def get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
    with STATE.lock:
        root = access_key_id in STATE.root_keys
    if root:
        # The root user's UserId is the account id.
        return self.account_id, root_arn(self.account_id, self.partition), self.account_id
    return _original_get_caller_identity(self, access_key_id, region)


def check_action_permitted(self: Any, resource: str) -> None:
    key = self._access_key
    if isinstance(key, RootAccessKey):
        return  # IAM policies do not limit the root user
    if isinstance(key, UserSessionAccessKey) and self._action.startswith("iam:") and key.session.mfa_at is None:
        # AWS refuses IAM calls made with GetSessionToken credentials that lack MFA.
        raise invalid_client_token()
    if self._action in ("sts:GetSessionToken", "sts:GetCallerIdentity"):
        return  # AWS needs no permission for these
    try:
        _original_check_action_permitted(self, resource)
    except moto_exceptions.AccessDeniedError as err:
        message = err.message if resource == "*" else f"{err.message} on resource: {resource}"
        raise access_denied(message) from None


def _setup_class_keeping_raw_body(original: Any) -> Any:
    def setup_class(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        original(self, request, *args, **kwargs)
        # Flask consumes form bodies, so moto re-encodes the parsed form to
        # check signatures. Python encodes a space as "+", the Rust SDK as
        # "%20": the signatures would differ. Check the bytes actually sent.
        raw = getattr(request, "environ", {}).get(RAW_BODY_KEY)
        if raw and not self.raw_body:
            self.raw_body = raw

    return setup_class


def _rest_error_init(original: Any) -> Any:
    def init(self: Any, error_type: str, message: str, *args: Any, **kwargs: Any) -> None:
        original(self, error_type, message, *args, **kwargs)
        if not isinstance(self, moto_exceptions.JsonRESTError):
            self.description = aws_error_xml(error_type, message)

    return init


def _locked_record_request(original: Any) -> Any:
    lock = threading.Lock()

    def record(self: Any, *args: Any, **kwargs: Any) -> None:
        # Concurrent requests append to one file; keep lines whole.
        with lock:
            original(self, *args, **kwargs)

    return record


def _encode_body_as_text(original: Any) -> Any:
    def encode(self: Any, body: Any) -> tuple[Any, bool]:
        # moto base64s every byte body; STS/IAM bodies are form text, and the
        # Rust tests look for "Action=..." in download-recording without a
        # base64 decoder. Text is still replayable (body_encoded=False).
        if isinstance(body, io.BytesIO):
            body = body.getvalue()
        if isinstance(body, bytes):
            try:
                return body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return original(self, body)

    return encode


# STS actions AWS takes unsigned: the web identity or SAML token is the credential.
UNSIGNED_STS_ACTIONS = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}


def _skip_auth_for_unsigned_actions(original: Any) -> Any:
    """moto with auth on demands a signature on every call, and fails (KeyError) on these."""

    def authenticate(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if self._get_action() in UNSIGNED_STS_ACTIONS:
            return None
        return original(self, iam_request_cls, resource)

    return authenticate


def install_patches() -> None:
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _skip_auth_for_unsigned_actions(
        ActionAuthenticatorMixin._authenticate_and_authorize_action
    )
    TokenResponse.get_session_token = get_session_token
    TokenResponse.assume_role = assume_role
    TokenResponse.get_federation_token = get_federation_token
    IAMBackend.get_user_from_access_key_id = get_user_from_access_key_id
    BaseResponse.setup_class = _setup_class_keeping_raw_body(BaseResponse.setup_class)
    access_control.create_access_key = create_access_key
    STSBackend.get_caller_identity = get_caller_identity
    access_control.IAMRequestBase.check_action_permitted = check_action_permitted
    # moto's own trust check is exact-ARN only (no account root, no Bool);
    # assume_role above does the whole job instead.
    access_control.IAMRequestBase._is_assuming_role_operation = lambda self, resource: False
    moto_exceptions._RESTError.__init__ = _rest_error_init(moto_exceptions._RESTError.__init__)
    Recorder._record_request = _locked_record_request(Recorder._record_request)
    Recorder._encode_body = _encode_body_as_text(Recorder._encode_body)


# --------------------------------------------------------------------------
# HTTP: test-only endpoints in front of moto
# --------------------------------------------------------------------------


RAW_BODY_KEY = "vault_moto.raw_body"


class VaultTestEndpoints:
    """WSGI wrapper: serves /_vault_test/* itself and hands everything else to moto."""

    def __init__(self, app: Any):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/_vault_test/totp":
            return self.totp(environ, start_response)
        if path == "/_vault_test/recorded-calls":
            return self.recorded_calls(start_response)
        if path == "/_vault_test/federation-keys":
            with STATE.lock:
                keys = list(STATE.federation_keys)
            return _plain(start_response, "200 OK", "".join(f"{key}\n" for key in keys))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            # Keep the exact request bytes for signature checks (see _setup_class_keeping_raw_body).
            raw = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(raw)
            environ[RAW_BODY_KEY] = raw
        if path == "/moto-api/recorder/clear-recording":
            # moto calls this reset-recording; accept the name the tests use.
            environ["PATH_INFO"] = "/moto-api/recorder/reset-recording"
        return self.app(environ, start_response)

    @staticmethod
    def totp(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        serial = query.get("serial", [""])[0]
        try:
            offset = int(query.get("offset", ["0"])[0])
        except ValueError:
            return _plain(start_response, "400 Bad Request", "offset must be an integer\n")
        device = iam_backend().virtual_mfa_devices.get(serial)
        if device is None:
            return _plain(start_response, "404 Not Found", f"no virtual MFA device {serial!r}\n")
        return _plain(start_response, "200 OK", totp_code(device.base32_string_seed, totp_counter() + offset))


    @staticmethod
    def recorded_calls(start_response: Any) -> list[bytes]:
        # One "service:Action" line per recorded request (service from the
        # SigV4 scope, "-" if unsigned): easier to assert on than raw JSON.
        lines = []
        with open(recorder._location) as recording:
            for line in recording:
                if line.strip():
                    lines.append(describe_recorded_request(json.loads(line)))
        return _plain(start_response, "200 OK", "".join(f"{entry}\n" for entry in lines))


def describe_recorded_request(entry: dict[str, Any]) -> str:
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    action = parse_qs(body).get("Action", ["?"])[0]
    headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("authorization", ""))
    return f"{scope.group(1) if scope else '-'}:{action}"


def _plain(start_response: Any, status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


# --------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sts:GetCallerIdentity", "iam:Get*", "iam:List*"], "Resource": "*"}],
}
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
MFA_PRESENT = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def trust(principals: list[str], condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# name -> (trust policy, MaxSessionDuration, permissions policy)
ROLES = {
    "admin": (trust([ROOT], MFA_PRESENT), 43200, "allow-all"),
    "readonly": (trust([ROOT]), 3600, "read-only"),
    "partner": (trust([ROOT], {"StringEquals": {"sts:ExternalId": "ext-123"}}), 3600, "read-only"),
    # 43200 so that a 7200 s chained request trips the chaining limit, not this one.
    "chained": (trust([f"arn:aws:iam::{ACCOUNT}:role/admin", ROOT], MFA_PRESENT), 43200, "read-only"),
}


def bootstrap(endpoint: str) -> dict[str, Any]:
    """Create the fixed cast through the public API, while moto's auth is still off."""
    session = boto3.session.Session(
        aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap", region_name="us-east-1"
    )
    iam = session.client("iam", endpoint_url=endpoint, config=BotoConfig(retries={"max_attempts": 1}))

    policies = {
        name: iam.create_policy(PolicyName=f"vault-test-{name}", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
        for name, doc in (("allow-all", ALLOW_ALL), ("read-only", READ_ONLY))
    }

    users: dict[str, Any] = {}
    for name in ("jane", "bob"):
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        iam.attach_user_policy(UserName=name, PolicyArn=policies["allow-all"])
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users[name] = {
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
            "arn": arn,
            "mfa_serial": None,
            "mfa_seed": None,
        }

    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="jane")["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    seed = seed.decode() if isinstance(seed, bytes) else seed
    # Enable with two *past* windows so no code a test may ask for is burnt.
    now = totp_counter()
    iam.enable_mfa_device(
        UserName="jane",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp_code(seed, now - 3),
        AuthenticationCode2=totp_code(seed, now - 2),
    )
    users["jane"].update(mfa_serial=device["SerialNumber"], mfa_seed=seed)

    roles = {}
    for name, (trust_doc, max_seconds, policy) in ROLES.items():
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_doc, MaxSessionDuration=max_seconds)
        iam.attach_role_policy(RoleName=name, PolicyArn=policies[policy])
        roles[name] = role["Role"]["Arn"]

    # moto makes no root keys; ids in AWS's shape, kept in this process only.
    root_id = generate_access_key_id_from_account_id(ACCOUNT, prefix="AKIA", total_length=20)
    root_secret = base64.b64encode(os.urandom(30)).decode()
    with STATE.lock:
        STATE.root_keys[root_id] = root_secret
    root = {"access_key_id": root_id, "secret_access_key": root_secret, "arn": root_arn()}

    return {"endpoint": endpoint, "account": ACCOUNT, "users": users, "roles": roles, "root": root}


def enable_auth(endpoint: str) -> None:
    # "0" = the number of further requests allowed without auth.
    import urllib.request

    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", headers={"Content-Type": "text/plain"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"reset-auth answered {response.status}")


def write_atomically(path: str, data: dict[str, Any]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".vault-moto-", dir=directory)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main() -> int:
    started = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--state-file", required=True, help="where to write the JSON state once ready")
    parser.add_argument(
        "--recording-file", help="moto request-recorder file (default: STATE_FILE.recording next to the state file)"
    )
    parser.add_argument("--ignore-stdin", action="store_true", help="do not exit on stdin EOF (manual runs)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args()

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    # moto's recorder defaults to ./moto_recording in the cwd; keep it with the
    # state file, and make sure it exists so download-recording works at once.
    recorder._location = args.recording_file or os.path.abspath(args.state_file) + ".recording"
    open(recorder._location, "w").close()

    install_patches()

    server = make_server("127.0.0.1", args.port, VaultTestEndpoints(DomainDispatcherApplication(create_backend_app)), threaded=True)
    port = server.server_address[1]
    endpoint = f"http://127.0.0.1:{port}"
    # A short poll interval makes shutdown() (and so our exit) quick.
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="moto-server", daemon=True)
    serving.start()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if not args.ignore_stdin:
        threading.Thread(target=watch_stdin, args=(stop,), name="stdin-watch", daemon=True).start()

    try:
        state = bootstrap(endpoint)
        enable_auth(endpoint)
        state["port"] = port
        write_atomically(args.state_file, state)
    except Exception:
        server.shutdown()
        raise

    print(f"READY {endpoint}", flush=True)
    log.info("ready in %.2fs", time.monotonic() - started)

    stop.wait()  # signal handlers and the stdin watcher both set it
    server.shutdown()
    serving.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
