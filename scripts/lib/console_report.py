"""Writes benchmarks/console.md from scripts/bench-console's measurements (in BENCH_* variables) to stdout."""

import datetime
import json
import os
import statistics

env = os.environ
results = json.loads(env["BENCH_RESULTS"])


def column(name):
    values = [r[name] for r in results if r.get(name) is not None]
    return statistics.median(values), max(values)


def row(label, name, unit, budget=""):
    median, worst = column(name)
    if unit == "KB":
        return f"| {label} | {median / 1000:.1f} KB | {worst / 1000:.1f} KB | {budget} |"
    if unit == "":
        return f"| {label} | {median:.0f} | {worst:.0f} | {budget} |"
    return f"| {label} | {median:.0f} ms | {worst:.0f} ms | {budget} |"


bytes_worst = column("bytes")[1]
paint_median, paint_worst = column("firstPaint")
lines = [
    "# Console page weight and first paint",
    "",
    f"`bash scripts/bench-console` ({datetime.date.today()}; {env['BENCH_PROFILE']} build of `packyard dev`,",
    f"{env['BENCH_CHROMIUM']}, headless; 2 cores shared with other builds, load average {env['BENCH_LOAD']}).",
    f"The registry list page with {env['BENCH_REGISTRIES']} registries, loaded {env['BENCH_RUNS']} times, each in a",
    "fresh profile with the cache off (after an `about:blank` that starts the browser's renderer), already signed",
    "in. Times run from the navigation's start, so they include the request for the page. Bytes are what crossed",
    "the wire (encoded bodies plus headers): the page (its stylesheet inline), three scripts, and every API call the",
    "page makes (who is signed in, the registries, and one package count per registry).",
    "",
    "| measure | median | worst | budget |",
    "| --- | --- | --- | --- |",
    row("transferred", "bytes", "KB", "100 KB"),
    row("requests", "requests", ""),
    row("first paint", "firstPaint", "ms", "200 ms"),
    row("first contentful paint", "firstContentfulPaint", "ms"),
    row("registry list on screen", "listShown", "ms"),
    row("the page's first byte", "pageResponseStart", "ms"),
    "",
    "The console's own files, as served (bytes of body):",
    "",
    "| file | plain | gzip |",
    "| --- | --- | --- |",
]
for line in env["BENCH_ASSETS"].strip().splitlines():
    path, plain, gzipped = line.split()
    lines.append(f"| `{path}` | {plain} | {gzipped} |")
weight = "within" if bytes_worst < 100_000 else "OVER"
paint = "within" if paint_median < 200 else "OVER"
lines += [
    "",
    f"Page weight: {weight} budget in every load. First paint: {paint} budget at the median"
    f" ({'every load' if paint_worst < 200 else 'not every load'} under 200 ms).",
    "",
]
print("\n".join(lines))
