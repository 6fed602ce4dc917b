"""Time per rule of a finished Snakemake run, from its log: jobs, minutes and seconds per job, and the
run's wall time, as a Markdown table (what benchmarks/RESULTS.md records for the default run).

    python benchmarks/run_times.py .snakemake/log/2026-12-06T060422.snakemake.log
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from datetime import datetime

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
DONE = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def rule_times(lines: list[str]) -> tuple[dict, float]:
    """{rule: [seconds of each job]} and the wall time from the first to the last stamp, in seconds."""
    now = first = None
    started, pending_rule, times = {}, None, defaultdict(list)
    for line in lines:
        if m := STAMP.match(line.strip()):
            now = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y")
            first = first or now
        elif m := START.match(line.strip()):
            pending_rule = m.group(1)
        elif (m := JOBID.match(line)) and pending_rule:
            started[m.group(1)] = now
            pending_rule = None
        elif m := DONE.match(line.strip()):
            if m.group(1) in started and m.group(2) != "all":
                times[m.group(2)].append((now - started.pop(m.group(1))).total_seconds())
    return times, (now - first).total_seconds() if first else 0.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", help="a .snakemake/log/*.snakemake.log file")
    args = ap.parse_args(argv)
    times, wall = rule_times(open(args.log).read().splitlines())
    print("| rule | jobs | minutes | seconds per job |\n|---|---|---|---|")
    for rule, secs in sorted(times.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {rule} | {len(secs)} | {sum(secs) / 60:.1f} | {sum(secs) / len(secs):.1f} |")
    total = sum(sum(s) for s in times.values())
    print(f"| all jobs | {sum(map(len, times.values()))} | {total / 60:.1f} | |")
    print(f"\nwall time of the run: {wall / 60:.1f} minutes")


if __name__ == "__main__":
    main()
