"""Acknowledged writes during the soak: merges a new value into one of 50 users, one request at
a time, and records each the server acknowledged (2xx). At the end (SIGTERM), checks that every
acknowledged write is in the store (each key holds its last acknowledged value)."""
import http.client, json, signal, sys

base = sys.argv[1].removeprefix("http://")
headers = {"Authorization": "Bearer sk_soak", "Content-Type": "application/json"}
acked, stop = [], False

def halt(*_):
    global stop
    stop = True

signal.signal(signal.SIGTERM, halt)
conn = http.client.HTTPConnection(base, timeout=10)
n = 0
while not stop:
    n += 1
    user = f"user_{n % 50}"
    key = f"w{(n // 50) % 200}"  # a bounded tier: 200 keys per user, each rewritten
    body = json.dumps({"public_metadata": {key: n}})
    try:
        conn.request("PATCH", f"/v1/users/{user}/metadata", body, headers)
        r = conn.getresponse(); r.read()
        if 200 <= r.status < 300:
            acked.append((user, key, n))
    except Exception:
        conn = http.client.HTTPConnection(base, timeout=10)
# This script is the only writer of these keys, one request at a time: each key holds the last
# value acknowledged for it.
last = {}
for user, key, value in acked:
    last[(user, key)] = value
missing = 0
conn = http.client.HTTPConnection(base, timeout=10)
for user in {u for u, _ in last}:
    conn.request("GET", f"/v1/users/{user}", headers=headers)
    stored = json.loads(conn.getresponse().read())["public_metadata"]
    missing += sum(1 for (u, k), v in last.items() if u == user and stored.get(k) != v)
print(f"WRITER acknowledged={len(acked)} missing={missing}")
