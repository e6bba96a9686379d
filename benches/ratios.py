#!/usr/bin/env python3
"""Prints, for every criterion group, each function's median time and its ratio to the group's
baseline(s): the figures benches/README.md quotes. Run after `cargo bench -p metadata-benches`."""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
for group in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "report"):
    medians = {}
    for est in group.glob("**/new/estimates.json"):
        name = str(est.parent.parent.relative_to(group))
        medians[name] = json.loads(est.read_text())["median"]["point_estimate"]
    if not medians:
        continue
    print(f"{group.name}")
    baselines = {k: v for k, v in medians.items() if k.startswith("baseline")}
    for name, ns in sorted(medians.items()):
        ratios = ", ".join(f"{ns / b:.2f}x {bn}" for bn, b in sorted(baselines.items()) if bn != name)
        print(f"  {name:55s} {ns / 1000:10.2f} us   {ratios}")
