"""Creates USERS users with a 200-byte public tier on a `metadata serve`, over one keep-alive
connection, and writes the answer for user_0 to a template file for the floor."""
import http.client, json, sys

base, users, template = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host = base.removeprefix("http://")
conn = http.client.HTTPConnection(host)
headers = {"Authorization": "Bearer sk_load", "Content-Type": "application/json"}
pad = "x" * 178
for i in range(users):
    body = json.dumps({"id": f"user_{i}", "public_metadata": {"pad": pad, "n": 0}})
    conn.request("POST", "/v1/users", body, headers)
    answer = conn.getresponse().read()
    if i == 0:
        open(template, "wb").write(answer)
conn.close()
