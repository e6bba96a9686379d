"""A small SVG plot of a soak's CSV: resident memory, requests per second and p99 over time,
each scaled to its own maximum."""
import csv, sys

rows = list(csv.DictReader(open(sys.argv[1])))
W, H, PAD = 640, 240, 40
series = [("rss_kib", "#1f77b4", "resident memory"), ("rps", "#2ca02c", "requests/s"),
          ("p99_ms", "#d62728", "p99")]
t = [float(r["second"]) for r in rows]
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<line x1="{PAD}" y1="{H-PAD}" x2="{W-10}" y2="{H-PAD}" stroke="black"/>',
       f'<text x="{W/2}" y="{H-8}" text-anchor="middle">seconds (0 to {int(max(t))})</text>']
for i, (key, color, label) in enumerate(series):
    v = [float(r[key]) for r in rows]
    top = max(v) or 1
    pts = " ".join(f"{PAD + (W-PAD-10) * x / max(t):.1f},{H-PAD - (H-2*PAD) * y / top:.1f}" for x, y in zip(t, v))
    out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>')
    out.append(f'<text x="{PAD + 5 + i * 190}" y="16" fill="{color}">{label} (max {top:g})</text>')
out.append("</svg>")
open(sys.argv[2], "w").write("\n".join(out))
