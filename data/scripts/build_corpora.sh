#!/usr/bin/env bash
# Assembles function-level code corpora (CodeSearchNet-style JSONL with seeded splits) from source code that
# Debian and npm install, by calling `probescope corpus build`. Nothing here is committed: sources and outputs
# go under .cache/corpora/ (git-ignored).
#
#   data/scripts/build_corpora.sh [--install] [--tokenizer tokenizer.json] [--languages "python go ..."] [-- extra flags]
#
#   --install      apt-get install golang-src / openjdk-17-source when missing, and `npm pack` the JavaScript
#                  packages (needs the Debian and npm registries; run as root)
#   --tokenizer    token limits count the model's subwords (default --max-tokens 512 then)
#   PROBESCOPE     the binary (default: build/app/cli/probescope, else probescope on PATH)
#   OUT            output folder (default .cache/corpora)
#   SEED           split seed (default 123, as `corpus build`); the same sources and seed give the same bytes
#
# Each corpus is OUT/<lang>.jsonl (one function per line, CodeSearchNet-style fields, a seeded train/valid/test
# split) with its summary; OUT/SHA256SUMS records the sha256 of every corpus (checked with sha256sum -c).
#
# Sources: Python = the standard library (/usr/lib/python3.*); Go = Debian's golang-src (/usr/share/go-*/src or
# /usr/lib/go-*/src, testdata/ excluded: it is deliberately broken); JavaScript = a few well-known pure-JS npm
# packages (pinned versions, unpacked, never installed: no install scripts run) plus Debian's jquery/underscore;
# Java = the JDK's src.zip (Debian's openjdk-17-source, java.base only); C++ = libstdc++'s headers
# (/usr/include/c++/<N>: .h and .tcc files) and Eigen's (/usr/include/eigen3, libeigen3-dev).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${OUT:-$ROOT/.cache/corpora}
SRC=$OUT/src
INSTALL=0
TOKENIZER=()
LANGS="python go javascript java cpp"
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --install) INSTALL=1 ;;
    --tokenizer) TOKENIZER=(--tokenizer "$2"); shift ;;
    --languages) LANGS=$2; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "build_corpora.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

if [ -z "${PROBESCOPE:-}" ]; then
  if [ -x "$ROOT/build/app/cli/probescope" ]; then PROBESCOPE=$ROOT/build/app/cli/probescope
  else PROBESCOPE=$(command -v probescope || true); fi
fi
if [ -z "$PROBESCOPE" ] || [ ! -x "$PROBESCOPE" ]; then
  echo "build_corpora.sh: probescope not found (build it, or set PROBESCOPE=/path/to/probescope)" >&2
  exit 2
fi
mkdir -p "$OUT" "$SRC"

first_dir() { for d in "$@"; do [ -d "$d" ] && { echo "$d"; return 0; }; done; return 1; }

# One corpus: build_one LANG OUTNAME INPUT... [-- flags]
build_one() {
  local lang=$1 name=$2; shift 2
  local inputs=() flags=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do inputs+=(--input "$1"); shift; done
  [ $# -gt 0 ] && shift && flags=("$@")
  echo "== $name ($lang): ${inputs[*]}" >&2
  "$PROBESCOPE" corpus build "${inputs[@]}" --language "$lang" --functions --quiet \
    --out "$OUT/$name.jsonl" --summary-json "$OUT/$name.summary.json" \
    --seed "${SEED:-123}" \
    ${TOKENIZER[@]+"${TOKENIZER[@]}"} ${flags[@]+"${flags[@]}"} ${EXTRA[@]+"${EXTRA[@]}"} | tee "$OUT/$name.summary.txt"
}

for lang in $LANGS; do
  case "$lang" in
    python)
      py=$(first_dir /usr/lib/python3.11 /usr/lib/python3.1[0-9] /usr/lib/python3.*) || { echo "no Python stdlib" >&2; continue; }
      build_one python python "$py" -- --exclude 'site-packages/' --exclude 'dist-packages/' ;;
    go)
      go_src=$(first_dir /usr/share/go-*/src /usr/lib/go-*/src) || true
      if [ -z "$go_src" ] && [ $INSTALL = 1 ]; then apt-get install -y --no-install-recommends golang-src >&2; go_src=$(first_dir /usr/share/go-*/src /usr/lib/go-*/src) || true; fi
      [ -n "$go_src" ] || { echo "no Go sources (apt-get install golang-src, or --install)" >&2; continue; }
      build_one go go "$go_src" -- --exclude 'testdata/' ;;
    javascript)
      npm_dir=$SRC/npm
      mkdir -p "$npm_dir"
      if [ $INSTALL = 1 ]; then
        for pkg in lodash@4.17.21 express@4.18.2 underscore@1.13.6 async@3.2.4 commander@9.4.1 moment@2.29.4 \
                   qs@6.11.0 yargs@17.7.2 three@0.160.0 webpack@5.89.0 eslint@8.56.0 mocha@10.2.0 uglify-js@3.17.4 \
                   less@4.2.0 bluebird@3.7.2 handlebars@4.7.8; do
          name=${pkg%@*}
          [ -d "$npm_dir/$name" ] && continue
          (cd "$npm_dir" && npm pack --silent "$pkg" >/dev/null && mkdir -p "$name" && tar -xzf "$name"-*.tgz -C "$name" --strip-components=1 && rm -f "$name"-*.tgz)
        done
      fi
      inputs=()
      for d in "$npm_dir"/*/ /usr/share/javascript/jquery /usr/share/javascript/underscore; do [ -d "$d" ] && inputs+=("$d"); done
      [ ${#inputs[@]} -gt 0 ] || { echo "no JavaScript sources (--install runs npm pack)" >&2; continue; }
      build_one javascript javascript "${inputs[@]}" -- --exclude '*.min.js' --exclude 'dist/' --exclude 'test/' ;;
    java)
      zip=""
      for z in /usr/lib/jvm/openjdk-*/lib/src.zip /usr/lib/jvm/java-*-openjdk-*/lib/src.zip; do [ -f "$z" ] && { zip=$z; break; }; done
      if [ -z "$zip" ] && [ $INSTALL = 1 ]; then
        apt-get install -y --no-install-recommends openjdk-17-source >&2
        for z in /usr/lib/jvm/openjdk-*/lib/src.zip /usr/lib/jvm/java-*-openjdk-*/lib/src.zip; do [ -f "$z" ] && { zip=$z; break; }; done
      fi
      [ -n "$zip" ] || { echo "no JDK src.zip (apt-get install openjdk-17-source, or --install)" >&2; continue; }
      if [ ! -d "$SRC/java/java.base" ]; then
        mkdir -p "$SRC/java"
        (cd "$SRC/java" && python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [z.extract(n) for n in z.namelist() if n.startswith("java.base/") and n.endswith(".java")]' "$zip")
      fi
      build_one java java "$SRC/java/java.base" ;;
    cpp)
      cxx=$(ls -d /usr/include/c++/[0-9]* 2>/dev/null | sort -V | tail -1)
      [ -n "$cxx" ] || { echo "no libstdc++ headers" >&2; continue; }
      inputs=("$cxx")
      [ -d /usr/include/eigen3 ] && inputs+=(/usr/include/eigen3)  # libeigen3-dev, a build dependency
      build_one cpp cpp "${inputs[@]}" ;;
    *) echo "build_corpora.sh: unknown language '$lang'" >&2; exit 2 ;;
  esac
done

echo "corpora in $OUT:" >&2
for f in "$OUT"/*.jsonl; do [ -f "$f" ] && printf '  %-20s %8d snippets\n' "$(basename "$f")" "$(wc -l < "$f")" >&2; done
(cd "$OUT" && ls ./*.jsonl >/dev/null 2>&1 && sha256sum -- *.jsonl > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS && sed 's/^/  sha256 /' SHA256SUMS >&2) || true
