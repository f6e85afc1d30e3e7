#!/usr/bin/env python3
"""Writes a genre-balanced list file from a layout_gtzan.sh layout.

Per genre: every clip of at least --full seconds, then (songs in name order) clips of at least
--min seconds until the genre holds --per-genre songs. This is how gtzan-v2-balanced.csv of
docs/accuracy.md was built (defaults: 25 s, 3 s, 17 songs), leaving out the 2-3 s excerpts that
give a random crop nothing to draw from.

    python3 tools/accuracy/balanced_list.py /work/data/gtzan-more /work/data/gtzan-v2-balanced.csv
"""
import argparse
import csv
import os
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("layout", help="folder written by layout_gtzan.sh (holds SOURCES.tsv)")
    parser.add_argument("out", help="list file to write (path,genre rows, paths relative to it)")
    parser.add_argument("--full", type=float, default=25.0, help="seconds that make a clip full-length")
    parser.add_argument("--min", type=float, default=3.0, help="shortest clip used to fill a genre up")
    parser.add_argument("--per-genre", type=int, default=17, help="songs per genre: every full-length clip, then shorter ones up to this many")
    args = parser.parse_args()

    sources = os.path.join(args.layout, "SOURCES.tsv")
    if not os.path.isfile(sources):
        sys.exit(f"balanced_list: error: {sources} not found; run layout_gtzan.sh first")
    by_genre = {}
    with open(sources, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            genre = row["song"].split(".")[0]
            by_genre.setdefault(genre, []).append((row["song"], float(row["seconds"]), row["path"]))

    base = os.path.dirname(os.path.abspath(args.out))
    rows = []
    for genre in sorted(by_genre):
        clips = sorted(by_genre[genre])
        full = [c for c in clips if c[1] >= args.full]
        fill = [c for c in clips if args.min <= c[1] < args.full]
        chosen = (full + fill)[: max(args.per_genre, len(full))]
        for song, _, path in sorted(chosen):
            ext = os.path.splitext(path)[1].lower()
            clip = os.path.join(os.path.abspath(args.layout), genre, song + ext)
            if not os.path.isfile(clip):
                sys.exit(f"balanced_list: error: {clip} is listed in SOURCES.tsv but missing")
            rows.append((os.path.relpath(clip, base), genre))
        print(f"{genre}: {len(full)} full-length + {len(chosen) - len(full)} shorter", file=sys.stderr)

    tmp = args.out + ".tmp"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "genre"])
        writer.writerows(rows)
    os.replace(tmp, args.out)
    print(f"{len(rows)} songs written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
