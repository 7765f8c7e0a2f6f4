"""Builds aws-vault stores the way aws-vault writes them, without aws-vault.

`file DIR` reads a JSON list of {"key", "passphrase", "data" (the inner JSON, a string),
optional "p2c"} on stdin and writes one JWE compact file per key, made by jwcrypto (an
independent JOSE implementation): PBES2-HS256+A128KW with a 12-byte salt, A256GCM, the
`created` header, the keyring `Item` wrapper, file names percent-escaped like aws-vault's.

`item KEY DATA` prints the keyring `Item` JSON (for secret-tool and pass).

`collection PASSWORD` creates gnome-keyring's `awsvault` collection through
CreateWithMasterPassword (no prompter needed) on the session bus; prints its path.

`kwallet` reads a JSON list of {"key", and "data" (the inner JSON, stored in an `Item`) or
"raw" (stored as it is)} on stdin and writes them into kwalletd5's wallet `aws-vault`, folder
`aws-vault`, app id `aws-vault`, with the `writeEntry` overload aws-vault calls (a stream
entry). The wallet is made and opened by `pamOpen` (a password hash, no dialog) and left open.
"""
import base64
import json
import os
import sys


def item(key, data):
    label = "aws-vault (%s)" % key
    description = ""
    trust = True
    if "," in key:
        label, description, trust = "aws-vault session for x (expires 2030-01-01T00:00:00Z)", "aws-vault session", False
    return json.dumps({"Key": key, "Data": base64.b64encode(data.encode()).decode(), "Label": label,
                       "Description": description, "KeychainNotTrustApplication": trust,
                       "KeychainNotSynchronizable": False}, separators=(",", ":"))


def escape(key):
    return "".join("%%%02X" % ord(c) if c in "/%" else c for c in key)


def file_store(directory):
    from jwcrypto import jwe, jwk
    from jwcrypto.common import json_encode
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    for spec in json.load(sys.stdin):
        protected = {"alg": "PBES2-HS256+A128KW", "enc": "A256GCM", "p2c": spec.get("p2c", 8192),
                     "p2s": base64.urlsafe_b64encode(os.urandom(12)).decode().rstrip("="),
                     "created": "2024-01-02 03:04:05.123456789 +0000 UTC m=+0.012345678"}
        token = jwe.JWE(item(spec["key"], spec["data"]).encode(), protected=json_encode(protected))
        token.add_recipient(jwk.JWK.from_password(spec["passphrase"]))
        path = os.path.join(directory, escape(spec["key"]))
        with open(path, "w") as f:
            f.write(token.serialize(compact=True))
        os.chmod(path, 0o600)


def collection(password):
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    conn = open_dbus_connection(bus="SESSION")
    service = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                          interface="org.freedesktop.Secret.Service")
    reply = conn.send_and_get_reply(new_method_call(service, "OpenSession", "sv", ("plain", ("s", ""))))
    session = reply.body[1]
    internal = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                           interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface")
    reply = conn.send_and_get_reply(new_method_call(
        internal, "CreateWithMasterPassword", "a{sv}(oayays)",
        ({"org.freedesktop.Secret.Collection.Label": ("s", "awsvault")},
         (session, b"", password.encode(), "text/plain"))))
    print(reply.body[0])


def kwallet():
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    conn = open_dbus_connection(bus="SESSION")
    kwalletd = DBusAddress("/modules/kwalletd5", bus_name="org.kde.kwalletd5", interface="org.kde.KWallet")

    def call(method, signature, *args):
        reply = conn.send_and_get_reply(new_method_call(kwalletd, method, signature, args), timeout=20)
        if reply.header.message_type.name == "error":
            raise SystemExit("%s: %s" % (method, reply.body))
        return reply.body

    call("pamOpen", "sayi", "aws-vault", b"vault-test-wallet-hash".ljust(56, b"."), 0)
    handle = call("open", "sxs", "aws-vault", 0, "aws-vault")[0]
    assert handle >= 0, handle
    assert call("createFolder", "iss", handle, "aws-vault", "aws-vault")[0]
    for spec in json.load(sys.stdin):
        value = item(spec["key"], spec["data"]) if "data" in spec else spec["raw"]
        rc = call("writeEntry", "issays", handle, "aws-vault", spec["key"], value.encode(), "aws-vault")[0]
        assert rc == 0, rc
    call("sync", "is", handle, "aws-vault")
    # Left open, as in a logged-in KDE session: opening a closed wallet shows a dialog.


if __name__ == "__main__":
    if sys.argv[1] == "file":
        file_store(sys.argv[2])
    elif sys.argv[1] == "item":
        print(item(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "collection":
        collection(sys.argv[2])
    elif sys.argv[1] == "kwallet":
        kwallet()
