#!/usr/bin/env bash
# Writes one training corpus from per-language corpus JSONL files, each language's *train* split weighted:
#   data/scripts/mix_corpus.sh OUT.jsonl python=3 javascript=4 go=0.25 java=0.3 cpp=1
# A weight w repeats every train snippet floor(w) times and one more time for a fixed, evenly spread fraction
# w - floor(w) of them (so 0.25 keeps every fourth snippet, in file order: deterministic, no RNG). Valid and test
# snippets are copied once whatever the weight, so validation is the same as on the plain concatenation.
# Why: the plain five-language concatenation is 60 % Go; a model meant to know Python and JavaScript as well
# must see them more often than their share (data/models/README.md, the encoder's third phase).
# Corpora come from CORPORA (default .cache/corpora/LANG.jsonl).
set -euo pipefail
if (($# < 2)); then
  echo "usage: $0 OUT.jsonl LANG=WEIGHT..." >&2
  exit 2
fi
out=$1
shift
corpora=${CORPORA:-.cache/corpora}
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
: > "$tmp"
for spec in "$@"; do
  lang=${spec%%=*} weight=${spec#*=}
  src="$corpora/$lang.jsonl"
  [ -f "$src" ] || { echo "$0: $src: no such corpus (build it with data/scripts/build_corpora.sh)" >&2; exit 1; }
  [[ "$weight" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$0: $spec: the weight must be a non-negative number" >&2; exit 1; }
  awk -v w="$weight" -v src="$src" '
    BEGIN { whole = int(w); frac = w - whole; acc = 0; n = 0 }
    !/"split":"train"/ { print; next }
    {
      for (i = 0; i < whole; ++i) print
      acc += frac
      if (acc >= 1 - 1e-9) { print; acc -= 1 }
      ++n
    }
    END { if (n == 0) { print src ": no train snippets" > "/dev/stderr"; exit 1 } }
  ' "$src" >> "$tmp"
done
mv "$tmp" "$out"
trap - EXIT
