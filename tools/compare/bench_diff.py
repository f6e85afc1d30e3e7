#!/usr/bin/env python3
"""Compares two Google Benchmark JSON outputs and flags slowdowns beyond noise.

  python3 tools/compare/bench_diff.py OLD.json NEW.json [--metric real_time|cpu_time|COUNTER]
      [--threshold 0.05] [--alpha 0.05] [--higher-is-better | --lower-is-better]

OLD (the baseline) and NEW come from `--benchmark_format=json` or `--benchmark_out=F
--benchmark_out_format=json` (Google Benchmark 1.7), best with `--benchmark_repetitions=N`, N >= 3
(5 or more lets the Mann-Whitney U test speak too). Exit 0: no regression; 1: at least one benchmark
flagged "slower"; 2: bad input (missing file, not JSON, no benchmarks, unknown metric).

How it decides, per benchmark present in both files (grouped by run_name, else name):
- Samples: the repetitions (run_type "iteration"); aggregates (mean/median/stddev/cv) are ignored
  when repetitions are present. An aggregates-only file (--benchmark_report_aggregates_only=true)
  gives its median and stddev, and "repetitions" as the count. Times are converted to one unit.
- Direction: real_time and cpu_time, lower is better. A counter whose name ends in "/s" or contains
  "per_second" (GFLOP/s, GB/s, samples/s, items_per_second) is a rate, higher is better; any other
  counter needs --higher-is-better or --lower-is-better.
- change = new median / old median - 1. It must be worse than --threshold (time up, rate down by
  more than that fraction) to count at all; within it the verdict is "same".
- Beyond the threshold, with >= 3 samples on both sides, the difference must also be real: the
  ranges separate (for time: new min > old max; for the "faster" side, new max < old min) or a
  two-sided Mann-Whitney U test rejects at --alpha (exact without ties, else the normal
  approximation). With aggregates on either side, the bands median +- stddev must not overlap.
  Otherwise the verdict is "noise". With fewer than 3 samples on a side, the threshold alone
  decides, and the output says so. Verdicts: faster / slower / same / noise; "slower" is a
  flagged regression.
"""
import argparse
import json
import math
import re
import statistics
import sys
from functools import lru_cache

TIME_METRICS = ("real_time", "cpu_time")
NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
RATE_COUNTER = re.compile(r"(/s$|per_second)")
USED_AGGREGATES = ("mean", "median", "stddev")
MIN_SAMPLES = 3  # fewer repetitions than this: the threshold alone decides


class BadInput(Exception):
    pass


class Measurements:
    """One benchmark's values of the metric: the repetitions, or an aggregates-only summary."""

    def __init__(self):
        self.samples = []
        self.aggregates = {}  # aggregate_name -> value
        self.repetitions = 0

    def has_samples(self):
        return bool(self.samples)

    def count(self):
        return len(self.samples) if self.samples else self.repetitions

    def median(self):
        if self.samples:
            return statistics.median(self.samples)
        return self.aggregates.get("median", self.aggregates.get("mean"))

    def stddev(self):
        if self.samples:
            return statistics.stdev(self.samples) if len(self.samples) > 1 else 0.0
        return self.aggregates.get("stddev", 0.0)


def metric_value(entry, metric, path):
    if metric in TIME_METRICS:
        unit = entry.get("time_unit", "ns")
        if unit not in NS_PER_UNIT:
            raise BadInput(f"{path}: {entry.get('name')}: unknown time_unit {unit!r} (expected ns, us, ms or s)")
        return float(entry[metric]) * NS_PER_UNIT[unit]
    return float(entry[metric]) if metric in entry else None


def load(path, metric):
    """Returns ({benchmark name: Measurements}, [names that reported an error])."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except OSError as e:
        raise BadInput(f"{path}: cannot read: {e.strerror}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: not a JSON file: {e}")
    entries = document.get("benchmarks") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise BadInput(f"{path}: no benchmarks (expected Google Benchmark JSON with a non-empty \"benchmarks\" list)")

    results, errored = {}, []
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry or not all(m in entry for m in TIME_METRICS):
            raise BadInput(f"{path}: a benchmark entry lacks name, real_time or cpu_time: {str(entry)[:120]}")
        name = entry.get("run_name", entry["name"])
        if entry.get("error_occurred"):
            errored.append(name)
            continue
        is_sample = entry.get("run_type", "iteration") == "iteration"
        aggregate = entry.get("aggregate_name")
        if not is_sample and aggregate not in USED_AGGREGATES:
            continue  # cv (a fraction), BigO and RMS (complexity fits)
        try:
            value = metric_value(entry, metric, path)
            repetitions = int(entry.get("repetitions", 1))
        except (TypeError, ValueError):
            raise BadInput(f"{path}: {name}: {metric} or repetitions is not a number")
        if value is None:
            continue
        m = results.setdefault(name, Measurements())
        if is_sample:
            m.samples.append(value)
        else:
            m.aggregates[aggregate] = value
            m.repetitions = repetitions
    for name, m in results.items():
        if m.median() is None:
            raise BadInput(f"{path}: {name}: aggregates without a median or mean, and no repetitions")
    if not results:
        raise BadInput(f"{path}: no benchmark reports the metric {metric!r}" + (" (all errored)" if errored else ""))
    return results, sorted(set(errored))


@lru_cache(maxsize=None)
def u_arrangements(m, n, u):
    """How many orderings of m + n distinct values give U = u for the first sample."""
    if u < 0:
        return 0
    if m == 0 or n == 0:
        return 1 if u == 0 else 0
    return u_arrangements(m - 1, n, u - n) + u_arrangements(m, n - 1, u)


def mann_whitney_p(x, y):
    """Two-sided p-value of the Mann-Whitney U test of x against y."""
    m, n = len(x), len(y)
    u = sum((a > b) + 0.5 * (a == b) for a in x for b in y)
    values = x + y
    ties = [values.count(v) for v in set(values)]
    if all(t == 1 for t in ties) and m <= 20 and n <= 20:
        total = math.comb(m + n, m)
        lower = sum(u_arrangements(m, n, k) for k in range(int(u) + 1)) / total
        upper = sum(u_arrangements(m, n, k) for k in range(int(u), m * n + 1)) / total
        return min(1.0, 2 * min(lower, upper))
    big_n = m + n
    variance = m * n / 12 * ((big_n + 1) - sum(t**3 - t for t in ties) / (big_n * (big_n - 1)))
    if variance <= 0:
        return 1.0
    z = max(0.0, abs(u - m * n / 2) - 0.5) / math.sqrt(variance)
    return math.erfc(z / math.sqrt(2))


def verdict(old, new, higher_is_better, threshold, alpha):
    """Returns (verdict, how it was decided)."""
    old_median, new_median = old.median(), new.median()
    if old_median == 0:
        return "same", "old median is 0"
    change = new_median / old_median - 1
    worse = -change if higher_is_better else change
    if abs(worse) <= threshold:
        return "same", f"within {threshold * 100:g}%"
    direction = "slower" if worse > 0 else "faster"
    if old.count() < MIN_SAMPLES or new.count() < MIN_SAMPLES:
        return direction, f"threshold only ({min(old.count(), new.count())} run)"
    if old.has_samples() and new.has_samples():
        # "Time went up" means the new values are larger; for a rate, smaller.
        bigger, smaller = (new.samples, old.samples) if (worse > 0) != higher_is_better else (old.samples, new.samples)
        if min(bigger) > max(smaller):
            return direction, "ranges separate"
        p = mann_whitney_p(new.samples, old.samples)
        return (direction if p < alpha else "noise"), f"U test p={p:.3f}"
    gap = abs(new_median - old_median)
    separate = gap > old.stddev() + new.stddev()
    return (direction if separate else "noise"), "median+-stddev bands " + ("separate" if separate else "overlap")


def format_value(value, metric):
    if metric in TIME_METRICS:
        for unit in ("s", "ms", "us"):
            if abs(value) >= NS_PER_UNIT[unit]:
                return f"{value / NS_PER_UNIT[unit]:.4g} {unit}"
        return f"{value:.4g} ns"
    return f"{value:.4g}"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="baseline Google Benchmark JSON")
    parser.add_argument("new", help="Google Benchmark JSON to check against the baseline")
    parser.add_argument("--metric", default="real_time", help="real_time (default), cpu_time or a counter name")
    parser.add_argument("--threshold", type=float, default=0.05, help="relative change that counts (default 0.05)")
    parser.add_argument("--alpha", type=float, default=0.05, help="Mann-Whitney U significance level (default 0.05)")
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("--higher-is-better", action="store_true", help="the counter is better when larger")
    direction.add_argument("--lower-is-better", action="store_true", help="the counter is better when smaller")
    args = parser.parse_args(argv)

    try:
        if args.metric in TIME_METRICS:
            if args.higher_is_better:
                raise BadInput(f"--higher-is-better: {args.metric} is a time, lower is better")
            higher_is_better, why = False, "a time"
        elif args.higher_is_better or args.lower_is_better:
            higher_is_better, why = args.higher_is_better, "as given"
        elif RATE_COUNTER.search(args.metric):
            higher_is_better, why = True, "a rate counter (name ends in /s or has per_second)"
        else:
            raise BadInput(f"--metric {args.metric!r}: not a time nor a rate counter by its name; "
                           "pass --higher-is-better or --lower-is-better")
        if not 0 <= args.threshold < 1 or not 0 < args.alpha < 1:
            raise BadInput("--threshold must be in [0, 1) and --alpha in (0, 1)")
        old, old_errors = load(args.old, args.metric)
        new, new_errors = load(args.new, args.metric)
        common = [name for name in old if name in new]
        if not common:
            raise BadInput(f"{args.old} and {args.new} have no benchmark in common")
    except BadInput as e:
        print(f"bench_diff: error: {e}", file=sys.stderr)
        return 2

    print(f"metric {args.metric} ({'higher' if higher_is_better else 'lower'} is better: {why}), "
          f"threshold {args.threshold * 100:g}%, alpha {args.alpha}")
    rows = [("benchmark", "old", "new", "change", "verdict", "decided by")]
    regressions = []
    for name in common:
        result, how = verdict(old[name], new[name], higher_is_better, args.threshold, args.alpha)
        old_median, new_median = old[name].median(), new[name].median()
        change = f"{new_median / old_median - 1:+.1%}" if old_median else "n/a"
        rows.append((name, format_value(old_median, args.metric), format_value(new_median, args.metric),
                     change, result, f"{how}; n={old[name].count()}/{new[name].count()}"))
        if result == "slower":
            regressions.append(name)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) if i in (0, 4, 5) else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths))).rstrip())

    if any(min(old[n].count(), new[n].count()) < MIN_SAMPLES for n in common):
        print(f"note: benchmarks with fewer than {MIN_SAMPLES} repetitions on a side are judged by the threshold "
              "alone (no noise test); rerun with --benchmark_repetitions=5")
    for label, names in (("only in old", [n for n in old if n not in new]),
                         ("only in new", [n for n in new if n not in old]),
                         ("errored in old", old_errors), ("errored in new", new_errors)):
        if names:
            print(f"{label} ({args.old if 'old' in label else args.new}): {', '.join(names)}")
    if regressions:
        print(f"REGRESSION: {len(regressions)} benchmark(s) flagged slower: {', '.join(regressions)}")
        return 1
    print("no regression")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
