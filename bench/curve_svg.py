#!/usr/bin/env python3
"""bench/curve_svg.py TABLE OUT.svg: draw bench/driver.sh's scaling table.

Two panels over workspaces in flight (log scale): CPU per workspace
lifecycle of the driver and of the stand-in (ms), and the driver's peak
RSS per workspace in flight (KB).  Plain SVG, no library: the numbers are
the table's, printed beside each point.
"""
import math
import sys

W, H, PAD = 360, 260, 48


def read_table(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            p = line.split()
            if len(p) >= 7 and p[0].isdigit():
                rows.append({"n": int(p[0]), "cpu": float(p[2]), "kb": float(p[3]),
                             "si_cpu": float(p[5])})
    return rows


def panel(x0, title, unit, rows, series):
    """One chart at x offset X0; SERIES: (key, colour, name)."""
    ns = [r["n"] for r in rows]
    ymax = max(r[k] for r in rows for k, _, _ in series) * 1.25 or 1
    lo, hi = math.log10(min(ns)), math.log10(max(ns))
    span = hi - lo or 1

    def x(n):
        return x0 + PAD + (math.log10(n) - lo) / span * (W - 2 * PAD)

    def y(v):
        return H - PAD - v / ymax * (H - 2 * PAD)

    out = ['<text x="%d" y="20" font-size="13" font-weight="bold">%s</text>' % (x0 + PAD, title),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>' % (x0 + PAD, H - PAD, x0 + W - PAD, H - PAD),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>' % (x0 + PAD, PAD, x0 + PAD, H - PAD),
           '<text x="%d" y="%d" font-size="10">0</text>' % (x0 + PAD - 12, H - PAD + 4),
           '<text x="%d" y="%d" font-size="10">%.2g %s</text>' % (x0 + 4, y(ymax) + 4, ymax, unit),
           '<text x="%d" y="%d" font-size="11">workspaces in flight</text>' % (x0 + W / 2 - 50, H - 8)]
    for n in ns:
        out.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>'
                   % (x(n), H - PAD + 14, "{:,}".format(n)))
    for i, (key, colour, name) in enumerate(series):
        pts = " ".join("%.1f,%.1f" % (x(r["n"]), y(r[key])) for r in rows)
        out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (colour, pts))
        for r in rows:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (x(r["n"]), y(r[key]), colour))
            out.append('<text x="%.1f" y="%.1f" font-size="9" fill="%s" text-anchor="middle">%.3g</text>'
                       % (x(r["n"]), y(r[key]) - 6, colour, r[key]))
        out.append('<text x="%d" y="%d" font-size="11" fill="%s">%s</text>'
                   % (x0 + PAD + 8, PAD - 8 + 14 * i, colour, name))
    return out


def main():
    rows = read_table(sys.argv[1])
    if not rows:
        sys.exit("curve_svg.py: no rows in %s" % sys.argv[1])
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">'
             % (2 * W, H), '<rect width="100%" height="100%" fill="white"/>']
    parts += panel(0, "CPU per workspace lifecycle", "ms", rows,
                   [("cpu", "#1f77b4", "driver"), ("si_cpu", "#d62728", "stand-in")])
    parts += panel(W, "Driver peak RSS per workspace", "KB", rows, [("kb", "#2ca02c", "driver")])
    parts.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
