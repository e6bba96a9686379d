#!/usr/bin/env python3
"""Writes a JSON user export (the reference product's camelCase layout) of N users, each with
about 1 KiB of metadata across its three tiers, to standard output, one array element per line."""
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
out = sys.stdout
out.write("[\n")
pad = "x" * 290
for i in range(n):
    user = {
        "userId": f"user_{i:08d}",
        "firstName": "Test",
        "publicMetadata": {"plan": ["free", "pro", "team"][i % 3], "seats": i % 50,
                           "flags": {"beta": i % 2 == 0, "region": "eu-west"},
                           "tags": [f"t{i % 7}", f"t{i % 11}"], "note": pad},
        "privateMetadata": {"stripe": f"cus_{i:010d}", "limits": {"api": 1000 + i % 100},
                            "history": [i, i * 2, i * 3], "note": pad},
        "unsafeMetadata": {"theme": "dark", "onboarding": {"step": i % 5}, "note": pad[:200]},
    }
    out.write(json.dumps(user, separators=(",", ":")))
    out.write(",\n" if i + 1 < n else "\n")
out.write("]\n")
