#!/usr/bin/env bash
# Lays GTZAN clips found in git mirrors of public repositories out as
#   OUT/<genre>/<genre>.NNNNN.<ext>        (default OUT: /work/data/gtzan, outside the repository)
# and writes, next to OUT, list files for timbre built from the fault-filtered split of
# Kereliuk, Sturm & Larsen (2015), restricted to the songs actually laid out.
#
# The audio never belongs in the timbre repository: keep OUT outside it.
#
# Usage:
#   tools/accuracy/layout_gtzan.sh [-o OUT] [-s SPLITS] [-m MIN_SECONDS] SOURCE...
#
#   SOURCE  a git directory (bare, or a work tree holding .git), or owner/name, looked up as
#           /work/.mirror/owner+name/repo (the layout the `fetch` tool leaves). Only HEAD is read.
#           Sources are taken in the order given: when one song (say jazz.00054) is in several,
#           the first copy wins, except that a copy shorter than 25 s (a cropped excerpt) gives way
#           to a longer one found later.
#   -o OUT  output folder (default /work/data/gtzan). It must be empty, absent, or a folder this
#           script laid out before (it holds .layout_gtzan); that one is rebuilt from scratch.
#   -s SPLITS  where the filtered split lists are: a git directory or owner/name (default
#           coreyker/dnn-mgr), or a plain folder holding {train,valid,test}_filtered.txt;
#           "none" skips the lists. A missing default mirror only warns.
#   -m MIN_SECONDS  leave out clips shorter than this (default 0: keep all, flag short ones).
#
# What is taken: blobs whose file name is <genre>.NNNNN.wav or .au for the 10 GTZAN genres
# (blues classical country disco hiphop jazz metal pop reggae rock), anywhere in the tree (genre
# folders or flat). The genre comes from the file name (GTZAN names carry it). Skipped, and counted:
# blobs missing from the mirror (files of 4 MiB or more are not in snapshots), Git LFS pointer
# files, files whose header is not RIFF/WAVE or Sun .snd, and files truncated against their header.
#
# Written next to OUT, named after it (NAME is OUT's last component: gtzan for the default OUT, so
# layouts side by side in one folder keep their own lists; paths in the CSVs are relative to the CSV,
# as timbre reads them):
#   OUT/SOURCES.tsv             one row per clip laid out: name, repo, path, blob, bytes, format, rate,
#                               channels, bits, seconds
#   OUT/../NAME-all.csv         path,genre for every clip laid out
#   OUT/../NAME-full.csv        path,genre for the clips of at least 25 s (full-length excerpts)
#   OUT/../NAME-filtered.csv    path,genre,split (train/validation/test) for the filtered-split songs
#                               present; timbre's list loader leaves the test rows out of training
#   OUT/../NAME-filtered-{train,validation,test}.txt   the same songs as genre/<file> names, one a
#                               line, for a given-lists split (SplitOptions train_list/validation_list)
#
# Provenance of the split lists: the "fault-filtered" GTZAN partition (443 train / 197 validation /
# 290 test excerpts, hand-built to avoid GTZAN's replicas, same-artist leakage across splits and
# mislabelings) of C. Kereliuk, B. L. Sturm and J. Larsen, "Deep learning and music adversaries",
# IEEE Transactions on Multimedia 17(11), 2015; published in https://github.com/coreyker/dnn-mgr as
# gtzan/train_filtered.txt, gtzan/valid_filtered.txt, gtzan/test_filtered.txt (newline-separated
# paths like blues/blues.00029.wav; first committed 2014-10-30 at the repository root, moved to
# gtzan/ on 2015-01-05). Root-level copies are used when gtzan/ lacks them.
set -euo pipefail

readonly GENRES="blues classical country disco hiphop jazz metal pop reggae rock"
readonly MIRROR_ROOT="${MIRROR_ROOT:-/work/.mirror}"
readonly FULL_SECONDS=25   # GTZAN clips are ~30 s; shorter copies are treated as cropped excerpts

die() { echo "layout_gtzan: error: $*" >&2; exit 1; }
warn() { echo "layout_gtzan: warning: $*" >&2; }
usage() { sed -n '/^# Usage:/,/^# What is taken/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

out=/work/data/gtzan
splits=coreyker/dnn-mgr
splits_given=0
min_seconds=0
while getopts "o:s:m:h" opt; do
  case "$opt" in
    o) out="$OPTARG" ;;
    s) splits="$OPTARG"; splits_given=1 ;;
    m) min_seconds="$OPTARG" ;;
    h | *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $# -ge 1 ]] || { echo "layout_gtzan: error: give at least one SOURCE" >&2; usage; }
[[ "$min_seconds" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "-m wants a number of seconds, got '$min_seconds'"
command -v git >/dev/null || die "git is not installed"
command -v python3 >/dev/null || die "python3 is needed to read audio headers"

# Resolves a SOURCE to a git directory; prints it, or fails with a clear message.
git_dir_of() {
  local src="$1" cand
  if [[ -d "$src" ]]; then
    for cand in "$src/.git" "$src"; do
      if git --git-dir="$cand" rev-parse --verify -q HEAD >/dev/null 2>&1; then
        (cd "$cand" && pwd); return 0
      fi
    done
    return 1
  fi
  if [[ "$src" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
    local base="$MIRROR_ROOT/${src/\//+}/repo"
    for cand in "$base/.git" "$base"; do
      if [[ -d "$cand" ]] && git --git-dir="$cand" rev-parse --verify -q HEAD >/dev/null 2>&1; then
        echo "$cand"; return 0
      fi
    done
  fi
  return 1
}

# Reads one audio file's header. Prints "ok FORMAT RATE CHANNELS BITS SECONDS",
# or "lfs", "notaudio", "truncated DETAIL", "bad DETAIL".
probe_py=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$probe_py" "$work"' EXIT
cat >"$probe_py" <<'PY'
import os, struct, sys

def probe(path):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(64)
        if head.startswith(b"version https://git-lfs"):
            return "lfs"
        if head[:4] == b".snd":
            if len(head) < 24:
                return "bad short-au-header"
            off, n, enc, rate, ch = struct.unpack(">IIIII", head[4:24])
            bits = {2: 8, 3: 16, 4: 24, 5: 32, 6: 32, 7: 64}.get(enc)
            if not bits or not rate or not ch:
                return "bad au-encoding-%d" % enc
            avail = size - off
            if n == 0xFFFFFFFF:
                n = avail
            if n > avail:
                return "truncated au-data-%d-of-%d-bytes" % (avail, n)
            name = "au-float" if enc in (6, 7) else "au-pcm"
            return "ok %s %d %d %d %.3f" % (name, rate, ch, bits, n / (rate * ch * bits / 8))
        if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
            f.seek(12)
            fmt = None
            while True:
                h = f.read(8)
                if len(h) < 8:
                    return "bad wav-no-data-chunk"
                cid, clen = h[:4], struct.unpack("<I", h[4:])[0]
                if cid == b"fmt ":
                    fmt = struct.unpack("<HHIIHH", f.read(16))
                    f.seek(clen - 16 + (clen & 1), 1)
                elif cid == b"data":
                    if fmt is None:
                        return "bad wav-data-before-fmt"
                    tag, ch, rate, _, _, bits = fmt
                    avail = size - f.tell()
                    if clen > avail:
                        return "truncated wav-data-%d-of-%d-bytes" % (avail, clen)
                    name = {1: "wav-pcm", 3: "wav-float", 0xFFFE: "wav-ext"}.get(tag, "wav-tag%d" % tag)
                    if not rate or not ch or not bits:
                        return "bad wav-fmt"
                    return "ok %s %d %d %d %.3f" % (name, rate, ch, bits, clen / (rate * ch * bits / 8))
                else:
                    f.seek(clen + (clen & 1), 1)
        return "notaudio"

try:
    print(probe(sys.argv[1]))
except Exception as e:  # a malformed header
    print("bad", type(e).__name__)
PY

# ---- check every input before touching anything ----
declare -a gitdirs=() names=()
for src in "$@"; do
  gd=$(git_dir_of "$src") || die "source '$src': not a git directory, and no mirror at $MIRROR_ROOT/${src/\//+}/repo (fetch it first)"
  gitdirs+=("$gd"); names+=("$src")
done

lists="$work/lists"; mkdir -p "$lists"; have_lists=0
if [[ "$splits" != none ]]; then
  if [[ -f "$splits/train_filtered.txt" ]]; then
    for s in train valid test; do
      cp "$splits/${s}_filtered.txt" "$lists/$s.txt" 2>/dev/null || die "split folder $splits lacks ${s}_filtered.txt"
    done
    have_lists=1
  elif sgd=$(git_dir_of "$splits"); then
    for s in train valid test; do
      git --git-dir="$sgd" show "HEAD:gtzan/${s}_filtered.txt" >"$lists/$s.txt" 2>/dev/null ||
        git --git-dir="$sgd" show "HEAD:${s}_filtered.txt" >"$lists/$s.txt" 2>/dev/null ||
        die "split source '$splits' has no gtzan/${s}_filtered.txt (nor ${s}_filtered.txt) at HEAD"
    done
    have_lists=1
  elif [[ "$splits_given" == 1 ]]; then
    die "split source '$splits': not a folder with the lists, a git directory, or a fetched mirror"
  else
    warn "no mirror of $splits under $MIRROR_ROOT: filtered split lists not written"
  fi
fi

[[ "$out" == /* ]] || out="$PWD/$out"
out=$(realpath -m "$out")
repo_top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null || true)
if [[ -n "$repo_top" && ( "$out" == "$repo_top" || "$out" == "$repo_top"/* ) ]]; then
  die "OUT $out is inside the repository $repo_top; audio must stay out of it"
fi
if [[ -e "$out" ]]; then
  [[ -d "$out" ]] || die "OUT $out exists and is not a folder"
  [[ -f "$out/.layout_gtzan" || -z "$(ls -A "$out")" ]] ||
    die "OUT $out is not empty and was not laid out by this script; give an empty or new folder"
fi
mkdir -p "$(dirname "$out")" || die "cannot create $(dirname "$out")"
# Built in a staging folder beside OUT, swapped in only when complete: a failed run leaves OUT as it was.
stage=$(mktemp -d "$(dirname "$out")/.$(basename "$out").staging.XXXXXX")
trap 'rm -rf "$probe_py" "$work" "$stage"' EXIT
: >"$stage/.layout_gtzan"
for g in $GENRES; do mkdir -p "$stage/$g"; done

# ---- extract ----
genre_re="^($(echo $GENRES | tr ' ' '|'))\.([0-9]{5})\.(wav|au)$"
declare -A kept_src=() kept_secs=() kept_file=() kept_blob=()
declare -A n_missing=() n_lfs=() n_notaudio=() n_trunc=() n_bad=() n_dup=() n_same=() n_short=() n_used=() n_replaced=() n_cand=()
manifest="$work/manifest.tsv"
: >"$manifest"
for i in "${!gitdirs[@]}"; do
  gd="${gitdirs[$i]}"; src="${names[$i]}"
  n_cand[$src]=0; n_missing[$src]=0; n_lfs[$src]=0; n_notaudio[$src]=0; n_trunc[$src]=0; n_bad[$src]=0
  n_dup[$src]=0; n_same[$src]=0; n_short[$src]=0; n_used[$src]=0; n_replaced[$src]=0
  while IFS=$'\t' read -r -d '' meta path; do
    base="${path##*/}"
    [[ "$base" =~ $genre_re ]] || continue
    genre="${BASH_REMATCH[1]}"; num="${BASH_REMATCH[2]}"; ext="${BASH_REMATCH[3]}"
    song="$genre.$num"
    read -r _mode _type blob _size <<<"$meta"
    n_cand[$src]=$((n_cand[$src] + 1))
    if ! git --git-dir="$gd" cat-file -e "$blob" 2>/dev/null; then
      n_missing[$src]=$((n_missing[$src] + 1)); continue
    fi
    if [[ -n "${kept_blob[$song]:-}" && "${kept_blob[$song]}" == "$blob" ]]; then
      n_same[$src]=$((n_same[$src] + 1)); continue   # byte-identical copy already laid out
    fi
    tmp="$work/clip.$ext"
    git --git-dir="$gd" cat-file blob "$blob" >"$tmp"
    read -r status a b c d e <<<"$(python3 "$probe_py" "$tmp")"
    case "$status" in
      ok) ;;
      lfs) n_lfs[$src]=$((n_lfs[$src] + 1)); continue ;;
      notaudio) n_notaudio[$src]=$((n_notaudio[$src] + 1)); warn "$src: $path is not WAV/AU audio; skipped"; continue ;;
      truncated) n_trunc[$src]=$((n_trunc[$src] + 1)); warn "$src: $path is truncated ($a); skipped"; continue ;;
      *) n_bad[$src]=$((n_bad[$src] + 1)); warn "$src: $path has an unreadable header ($a); skipped"; continue ;;
    esac
    fmt="$a"; rate="$b"; ch="$c"; bits="$d"; secs="$e"
    if awk -v s="$secs" -v m="$min_seconds" 'BEGIN { exit !(s < m) }'; then
      n_short[$src]=$((n_short[$src] + 1)); continue
    fi
    if [[ -n "${kept_src[$song]:-}" ]]; then
      # keep the earlier copy unless it is a cropped excerpt and this one is longer
      if awk -v o="${kept_secs[$song]}" -v n="$secs" -v f="$FULL_SECONDS" 'BEGIN { exit !(o < f && n > o) }'; then
        rm -f "${kept_file[$song]}"
        awk -F'\t' -v s="$song" '$1 != s' "$manifest" >"$manifest.new" && mv "$manifest.new" "$manifest"
        n_replaced[$src]=$((n_replaced[$src] + 1))
      else
        n_dup[$src]=$((n_dup[$src] + 1)); continue
      fi
    fi
    dest="$stage/$genre/$song.$ext"
    mv "$tmp" "$dest"
    kept_src[$song]="$src"; kept_secs[$song]="$secs"; kept_file[$song]="$dest"; kept_blob[$song]="$blob"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$song" "$src" "$path" "$blob" \
      "$(stat -c %s "$dest")" "$fmt" "$rate" "$ch" "$bits" "$secs" >>"$manifest"
    n_used[$src]=$((n_used[$src] + 1))
  done < <(git --git-dir="$gd" ls-tree -r -l -z --full-tree HEAD)
done
total=$(wc -l <"$manifest")
[[ "$total" -gt 0 ]] || die "no GTZAN clips found in the sources given"
{ printf 'song\trepo\tpath\tblob\tbytes\tformat\trate\tchannels\tbits\tseconds\n'; sort "$manifest"; } >"$stage/SOURCES.tsv"
chmod 755 "$stage"
rm -rf "${out:?}"
mv "$stage" "$out"

# ---- list files for timbre ----
csv_dir=$(dirname "$out"); rel=$(basename "$out")
# path,genre rows for the clips of at least $1 seconds
csv_rows() {
  sort "$manifest" | awk -F'\t' -v r="$rel" -v m="$1" '$10 >= m {
    split($1, p, "."); n = split($3, q, "/"); ext = q[n]; sub(/^.*\./, "", ext)
    print r "/" p[1] "/" $1 "." ext "," p[1] }'
}
{ echo "path,genre"; csv_rows 0; } >"$csv_dir/$rel-all.csv"
{ echo "path,genre"; csv_rows $FULL_SECONDS; } >"$csv_dir/$rel-full.csv"

split_report=""
rm -f "$csv_dir/$rel-filtered.csv" "$csv_dir/$rel"-filtered-{train,validation,test}.txt
if [[ "$have_lists" == 1 ]]; then
  csv="$csv_dir/$rel-filtered.csv"
  echo "path,genre,split" >"$csv"
  split_report="filtered split (Kereliuk, Sturm & Larsen 2015), songs present / listed:"
  for s in train valid test; do
    word=$s; [[ $s == valid ]] && word=validation
    txt="$csv_dir/$rel-filtered-$word.txt"; : >"$txt"
    listed=0; present=0
    while IFS= read -r line || [[ -n "$line" ]]; do
      line="${line%$'\r'}"; [[ -z "$line" ]] && continue
      listed=$((listed + 1))
      b="${line##*/}"; song="${b%.*}"
      [[ -n "${kept_src[$song]:-}" ]] || continue
      f="${kept_file[$song]##*/}"; g="${song%%.*}"
      echo "$rel/$g/$f,$g,$word" >>"$csv"
      echo "$g/$f" >>"$txt"
      present=$((present + 1))
    done <"$lists/$s.txt"
    split_report+=" $word $present/$listed"
  done
fi

# ---- report ----
echo "laid out $total clips in $out"
printf '%-10s %6s %7s %7s %6s\n' genre clips ">=${FULL_SECONDS}s" "3-${FULL_SECONDS}s" "<3s"
for g in $GENRES; do
  awk -F'\t' -v g="$g" -v f=$FULL_SECONDS '
    { split($1, p, "."); if (p[1] != g) next; n++; if ($10 >= f) full++; else if ($10 >= 3) mid++; else short++ }
    END { printf "%-10s %6d %7d %7d %6d\n", g, n, full, mid, short }' "$manifest"
done
echo "per source (taken / GTZAN-named files at HEAD; skipped: missing blob, LFS pointer, not audio, truncated, bad header, shorter than -m; duplicates: same blob, other copy kept; replaced an earlier cropped copy):"
for src in "${names[@]}"; do
  printf '  %s: %d/%d; skipped %d missing, %d lfs, %d notaudio, %d truncated, %d bad, %d short; dup %d same, %d other; replaced %d\n' \
    "$src" "${n_used[$src]}" "${n_cand[$src]}" "${n_missing[$src]}" "${n_lfs[$src]}" "${n_notaudio[$src]}" \
    "${n_trunc[$src]}" "${n_bad[$src]}" "${n_short[$src]}" "${n_same[$src]}" "${n_dup[$src]}" "${n_replaced[$src]}"
done
awk -F'\t' -v full=$FULL_SECONDS '
  { fmt[$6 " " $7 "Hz " $8 "ch " $9 "bit"]++; s += $10; b += $5
    if (min == "" || $10 < min) min = $10; if ($10 > max) max = $10; if ($10 < full) short++ }
  END { for (k in fmt) printf "  format %s: %d clips\n", k, fmt[k]
        printf "  total %.1f MB, %.1f min of audio; clip length %.1f-%.1f s; %d clips shorter than %d s\n",
               b / 1e6, s / 60, min, max, short, full }' "$manifest"
[[ -z "$split_report" ]] || echo "$split_report (lists in $csv_dir/$rel-filtered.csv and $rel-filtered-*.txt)"
echo "all clips listed in $csv_dir/$rel-all.csv, those of at least $FULL_SECONDS s in $rel-full.csv; provenance per clip in $out/SOURCES.tsv"
