"""Small clients for tests/hostile_server.rs: the command `vault exec --server` serves, the
browser `vault login` opens, and the other local user's attacks on both (the security
review's findings 1 and 2). Standard library only; it runs as unprivileged uids. Only
127.0.0.1 is contacted, and every loop is bounded in count and time.

Usage: hostile.py child OUTDIR FETCHES | imds-child OUTDIR FETCHES
     | slowloris PORT CONNECTIONS SECONDS | flood PORT BYTES | fetch PORT (token in $TOKEN)
     | watch VICTIM_UID SECONDS | connflood PORT SECONDS WORKERS
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request


def put(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def child(outdir, fetches):
    """The command vault serves: says where its endpoint is, waits for the test's `go`, then
    fetches its credentials with botocore's 2 s timeout, one result per line."""
    url = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    put(os.path.join(outdir, "token"), token)
    put(os.path.join(outdir, "port"), url.split(":")[2].split("/")[0])
    go = os.path.join(outdir, "go")
    end = time.time() + 60
    while not os.path.exists(go) and time.time() < end:
        time.sleep(0.02)
    for _ in range(fetches):
        started = time.time()
        try:
            request = urllib.request.Request(url, headers={"Authorization": token})
            body = urllib.request.urlopen(request, timeout=2).read()
            print("200" if b"AccessKeyId" in body else "no credentials", flush=True)
        except Exception as e:
            print("failed after %.1f s: %s" % (time.time() - started, e), flush=True)
        time.sleep(0.2)


def imds_child(outdir, fetches):
    """The command `vault exec --ec2-server` serves: says where its endpoint is, waits for the
    test's `go`, then fetches its credentials with curl as an IMDSv2 client does (a token PUT,
    the role name, the role's credentials), each request with botocore's 1 s timeout. One
    line per fetch."""
    endpoint = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/")
    put(os.path.join(outdir, "port"), endpoint.split(":")[2])
    go = os.path.join(outdir, "go")
    end = time.time() + 60
    while not os.path.exists(go) and time.time() < end:
        time.sleep(0.02)
    base = endpoint + "/latest/meta-data/iam/security-credentials/"
    for _ in range(fetches):
        token, role, result = None, None, "ok"
        for step in ("token", "role", "credentials"):
            started = time.time()
            if step == "token":
                args = ["-X", "PUT", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60",
                        endpoint + "/latest/api/token"]
            else:
                args = ["-H", "X-aws-ec2-metadata-token: " + token,
                        base + (role if step == "credentials" else "")]
            run = subprocess.run(["curl", "-s", "-f", "-m", "1"] + args, capture_output=True)
            body = run.stdout.decode()
            if run.returncode != 0 or (step == "credentials" and "AccessKeyId" not in body):
                result = "%s failed after %.1f s (curl exit %d)" % (
                    step, time.time() - started, run.returncode)
                break
            token, role = (body, role) if step == "token" else (token, body.strip())
        print(result, flush=True)
        time.sleep(0.2)


def connflood(port, seconds, workers):
    """Another user's connection flood: WORKERS processes connect to the port and close at
    once, non-blocking, as fast as they can; every other one sends a request line first, so
    vault cannot tell from the connection alone that its peer has gone. Prints how many
    connections were started."""
    print("flooding", flush=True)
    pids = []
    for worker in range(workers):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            count, end = 0, time.time() + seconds
            while time.time() < end:
                for _ in range(100):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.setblocking(False)
                    if s.connect_ex(("127.0.0.1", port)) in (0, 115):  # EINPROGRESS
                        count += 1
                        if worker % 2:
                            try:
                                s.send(b"GET / HTTP/1.1\r\n")
                            except OSError:
                                pass
                    s.close()
            os.write(write, b"%d\n" % count)
            os._exit(0)
        os.close(write)
        pids.append((pid, read))
    total = 0
    for pid, read in pids:
        total += int(os.read(read, 64) or b"0")
        os.waitpid(pid, 0)
    print("started %d connections in %.0f s" % (total, seconds), flush=True)


def slowloris(port, connections, seconds):
    """Opens connections, sends a partial request on each, then one byte every 0.5 s."""
    socks = []
    for _ in range(connections):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"GET / HTTP/1.1\r\n")
            socks.append(s)
        except OSError:
            pass
    print("connected %d" % len(socks), flush=True)
    end = time.time() + seconds
    while socks and time.time() < end:
        time.sleep(0.5)
        for s in list(socks):
            try:
                s.sendall(b"X")
            except OSError:
                socks.remove(s)
    print("still open at the end: %d" % len(socks), flush=True)


def flood(port, total):
    """Sends `total` bytes with no line end as fast as it can; stops when vault closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    chunk = b"A" * (1 << 20)
    sent, why, started = 0, "all sent", time.time()
    while sent < total and time.time() - started < 60:
        try:
            sent += s.send(chunk)
        except OSError as e:
            why = type(e).__name__
            break
    print("sent %d MiB in %.1f s (%s)" % (sent >> 20, time.time() - started, why), flush=True)


def read_all(s):
    data, how = b"", "closed"
    try:
        while len(data) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        how = type(e).__name__
    return data, how


def fetch(port):
    """One GET of / with the token in $TOKEN (as if stolen); prints what came back."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: %s\r\n\r\n"
    s.sendall((head % (port, os.environ["TOKEN"])).encode())
    data, how = read_all(s)
    print(repr(data) if data else "nothing (%s)" % how, flush=True)


def watch(victim, seconds):
    """The review's watcher: scans the victim's command lines for login's one-shot address
    and asks for it first. Prints what it got."""
    pattern = re.compile(rb"http://127\.0\.0\.1:(\d+)(/[0-9a-f]{32})")
    print("ready", flush=True)
    end = time.time() + seconds
    while time.time() < end:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.stat("/proc/" + pid).st_uid != victim:
                    continue
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    found = pattern.search(f.read())
            except OSError:
                continue
            if found:
                port = int(found.group(1))
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"GET " + found.group(2) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                data, how = read_all(s)
                print("saw the address; got", repr(data) if data else "nothing (%s)" % how, flush=True)
                return
        time.sleep(0.005)
    print("saw nothing", flush=True)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "child":
        child(args[0], int(args[1]))
    elif mode == "imds-child":
        imds_child(args[0], int(args[1]))
    elif mode == "connflood":
        connflood(int(args[0]), float(args[1]), int(args[2]))
    elif mode == "slowloris":
        slowloris(int(args[0]), int(args[1]), float(args[2]))
    elif mode == "flood":
        flood(int(args[0]), int(args[1]))
    elif mode == "fetch":
        fetch(int(args[0]))
    elif mode == "watch":
        watch(int(args[0]), float(args[1]))
    else:
        sys.exit("unknown mode " + mode)
