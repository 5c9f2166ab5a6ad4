"""Before/after table of two sets of benchmark JSONs (``stt.py`` or ``tts.py`` results).

    python benchmarks/compare.py --before a1.json a2.json --after b1.json b2.json

Rows are matched by system, chunk size and text; for each timing metric (rtf, ttfa_ms,
median_ms, p95_ms) the table gives the median over the runs of each set and after / before.
Interleave the runs of the two code versions on one machine so both see the same conditions.
"""
from __future__ import annotations

import argparse
import json
import statistics

METRICS = ("rtf", "ttfa_ms", "median_ms", "p95_ms")


def _key(row: dict) -> tuple:
    # Older stt.py rows said "(host incl.)" and had no greedy/beam split (they were greedy).
    system = row["system"].replace(" (host incl.)", "").replace(", greedy", "")
    return system, row.get("chunk_ms") or row.get("chunk_frames"), row.get("text")


def load(paths: list[str]) -> dict[tuple, list[dict]]:
    """Rows of every JSON in ``paths``, grouped by :func:`_key`."""
    grouped: dict[tuple, list[dict]] = {}
    for path in paths:
        with open(path) as f:
            for row in json.load(f)["rows"]:
                grouped.setdefault(_key(row), []).append(row)
    return grouped


def compare(before: dict, after: dict) -> list[dict]:
    """One line per (row, metric) present in both sets."""
    lines = []
    for key, rows in after.items():
        for metric in METRICS:
            a = [r[metric] for r in before.get(key, []) if r.get(metric) is not None]
            b = [r[metric] for r in rows if r.get(metric) is not None]
            if a and b:
                ma, mb = statistics.median(a), statistics.median(b)
                lines.append({"system": key[0], "chunk": key[1], "text": key[2], "metric": metric,
                              "before": ma, "after": mb, "ratio": mb / ma})
    return lines


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--before", nargs="+", required=True)
    p.add_argument("--after", nargs="+", required=True)
    args = p.parse_args(argv)
    print("| system | chunk | text | metric | before | after | after / before |")
    print("|---|---|---|---|---|---|---|")
    for x in compare(load(args.before), load(args.after)):
        text = (x["text"] or "").split(":")[0]
        print(f"| {x['system']} | {x['chunk'] or ''} | {text} | {x['metric']} | {x['before']:.4g} "
              f"| {x['after']:.4g} | {x['ratio']:.2f} |")


if __name__ == "__main__":
    main()
