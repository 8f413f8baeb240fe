#!/usr/bin/env bash
# data/scripts/mix_corpus.sh: each language's train snippets repeated by its weight (whole part every snippet,
# fractional part an evenly spread share), valid/test copied once, bad input refused with a one-line error.
set -euo pipefail
script=${1:?path to mix_corpus.sh}
dir=$(mktemp -d "${TMPDIR:-/tmp}/mix_corpus_test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir "$dir/c"
for i in 1 2 3 4; do echo "{\"code\":\"a$i\",\"split\":\"train\"}"; done > "$dir/c/aa.jsonl"
echo '{"code":"av","split":"valid"}' >> "$dir/c/aa.jsonl"
for i in 1 2 3 4 5 6 7 8; do echo "{\"code\":\"b$i\",\"split\":\"train\"}"; done > "$dir/c/bb.jsonl"
echo '{"code":"bt","split":"test"}' >> "$dir/c/bb.jsonl"

CORPORA="$dir/c" bash "$script" "$dir/mix.jsonl" aa=2.5 bb=0.25
count() { grep -c "\"code\":\"$1\"" "$dir/mix.jsonl" || true; }
[ "$(count a1)" = 2 ] && [ "$(count a2)" = 3 ] && [ "$(count a3)" = 2 ] && [ "$(count a4)" = 3 ] ||
  fail "aa=2.5: copies $(count a1) $(count a2) $(count a3) $(count a4), want 2 3 2 3"
[ "$(grep -c '"code":"b' "$dir/mix.jsonl")" = 3 ] || fail "bb=0.25: want 2 of 8 train + 1 test"
[ "$(count b4)" = 1 ] && [ "$(count b8)" = 1 ] && [ "$(count b1)" = 0 ] || fail "bb=0.25 keeps every fourth"
[ "$(count av)" = 1 ] && [ "$(count bt)" = 1 ] || fail "valid/test must be copied exactly once"
[ "$(wc -l < "$dir/mix.jsonl")" = 14 ] || fail "want 14 lines, got $(wc -l < "$dir/mix.jsonl")"
[ -z "$(ls "$dir" | grep tmp || true)" ] || fail "temporary file left behind"

# Bad input: a missing corpus, a bad weight; one line on stderr, non-zero exit, no output written.
for bad in "zz=1" "aa=-1" "aa=x"; do
  if CORPORA="$dir/c" bash "$script" "$dir/bad.jsonl" "$bad" 2> "$dir/err"; then fail "$bad accepted"; fi
  [ "$(wc -l < "$dir/err")" = 1 ] || fail "$bad: want one error line, got: $(cat "$dir/err")"
  [ ! -e "$dir/bad.jsonl" ] || fail "$bad: wrote an output"
done
echo "mix_corpus_test: ok"
