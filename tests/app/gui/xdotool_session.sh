#!/usr/bin/env bash
# GuiXdotool.ScriptedSessionUnderXvfb: a real probescope-gui window (the xcb platform, not offscreen) under
# Xvfb, driven by keyboard and mouse with xdotool as a user would: open the Scratchpad tab, type a snippet, move
# the layer slider, switch the mask, quit with Ctrl+Q. After each step the script presses F12, which makes the
# window write its state (page, text, layer, mask, what the last analysis saw, widget geometry) and its own
# screenshot (--state-dir, app/gui/state_dump.h); the script polls those files, with a generous bound, instead of
# sleeping for a guessed time, and fails with what it waited for. It ends by comparing X screenshots (xwd) from
# before typing and after the session, and keeps the window's last screenshot as OUT_DIR/xdotool-session.png.
#   xdotool_session.sh PROBESCOPE_GUI MODEL_DIR OUT_DIR     (exit 77: skipped, a tool is missing)
set -euo pipefail
exe=$1 model=$2 out=$3
if [ ! -x "$exe" ]; then
  echo "SKIP: $exe is not built (a build with the test suites only)"
  exit 77
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
for t in xvfb-run xdotool xwd "$PY"; do
  if [ -z "$t" ] || ! command -v "$t" >/dev/null 2>&1; then
    echo "SKIP: ${t:-python3} is not installed (script/bootstrap installs xvfb, xdotool and x11-apps)"
    exit 77
  fi
done

if [ -z "${PS_XDOTOOL_INNER:-}" ]; then
  # Own temporary directory and HOME, so QSettings (recent files) never leak into or out of the user's, and
  # xvfb-run -a picks a free display: parallel-safe.
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ps-xdotool.XXXXXX")
  mkdir -p "$tmp/home/.config"
  rc=0
  PS_XDOTOOL_INNER=1 HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
    env -u QT_QPA_PLATFORM xvfb-run -a -s "-screen 0 1600x1000x24" bash "$0" "$exe" "$model" "$out" "$tmp" || rc=$?
  [ -f "$tmp/home/.config/probescope/probescope-gui.conf" ] && echo "recent files stayed in the session's own HOME"
  [ $rc -eq 0 ] && rm -rf "$tmp" || echo "kept $tmp for inspection"
  exit $rc
fi

tmp=$4
state=$tmp/state
bound=${PS_XDOTOOL_BOUND:-240}  # seconds for any one wait: generous, this is not a timing test
mkdir -p "$state"
"$exe" --model "$model" --threads 2 --state-dir "$state" >"$tmp/gui.log" 2>&1 &
gui=$!
trap 'kill $gui 2>/dev/null || true' EXIT
fail() {
  echo "FAIL: $*"
  [ -n "${js:-}" ] && { echo "--- last state ($js):"; cat "$js"; }
  echo "--- probescope-gui output:"
  cat "$tmp/gui.log"
  exit 1
}
alive() { kill -0 $gui 2>/dev/null || fail "probescope-gui exited (waiting for $1)"; }

# The top-level window, once mapped.
end=$((SECONDS + bound))
win=
until win=$(xdotool search --onlyvisible --name '^Probescope' 2>/dev/null | head -1) && [ -n "$win" ]; do
  alive "its window"
  [ $SECONDS -lt $end ] || fail "no visible probescope-gui window after ${bound}s"
  sleep 0.2
done
xdotool mousemove --window "$win" 40 40
xdotool windowfocus "$win" 2>/dev/null || true

last_n() { ls "$state" | sed -n 's/^state-\([0-9]*\)\.json$/\1/p' | sort -n | tail -1; }
# F12 until the window writes a new state file; js = the newest one (written after every earlier key event).
dump() {
  local before end=$((SECONDS + bound)) t
  before=$(last_n)
  before=${before:-0}
  while :; do
    alive "state-$((before + 1)).json"
    [ $SECONDS -lt $end ] || fail "F12 wrote no new state file after ${bound}s"
    xdotool key --clearmodifiers F12
    for t in $(seq 30); do
      [ "$(last_n)" -gt "$before" ] 2>/dev/null && break 2
      sleep 0.1
    done
  done
  js=$state/state-$(last_n).json
}
q() { "$PY" -c 'import json, sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$js" "$1"; }
# Dumps until a Python predicate over the state `s` holds (the analysis runs on a worker thread).
await() {
  local what=$1 pred=$2 end=$((SECONDS + bound))
  while :; do
    dump
    [ "$(q "bool($pred)")" = True ] && return 0
    [ $SECONDS -lt $end ] || fail "after ${bound}s: $what ($pred)"
    sleep 0.3
  done
}
click() {
  local xy
  xy=$(q "'%d %d' % (s['geometry']['$1'][0] + s['geometry']['$1'][2] // 2, s['geometry']['$1'][1] + s['geometry']['$1'][3] // 2)")
  # shellcheck disable=SC2086
  xdotool mousemove --window "$win" $xy click 1
}
idle='not s["busy"] and "analysis" in s and s["analysis"]["text"] == s["text"]'

# 1. The window opens on the layer explorer; click the Scratchpad tab.
dump
click "tab Scratchpad"
await "the Scratchpad page" 's["page"] == "Scratchpad" and s["text"] == ""'
xwd -root -silent >"$tmp/before.xwd"

# 2. Click into the editor and type a function.
click editor
xdotool type --delay 15 'def add(a, b):'
xdotool key Return
xdotool type --delay 15 '    return a + b'
await "the typed snippet analysed" "s['text'] == 'def add(a, b):\\n    return a + b' and $idle and s['error'] == ''"
[ "$(q 's["analysis"]["subwords"] > 8 and s["analysis"]["words"] >= 10')" = True ] || fail "too few subwords or words for the snippet"
echo "typed: $(q 's["analysis"]["subwords"]') subwords, $(q 's["analysis"]["words"]') words"

# 3. The layer slider: click it, End (last layer), Left (one back).
click layer_slider
xdotool key End
xdotool key Left
await "the layer slider at its last layer but one" "s['layer'] == s['layer_max'] - 1 and $idle"
layer=$(q 's["layer"]')
digest=$(q 's["analysis"]["attention_digest"]')
echo "layer slider: layer $layer of $(q 's["layer_max"]'), attention digest $digest"

# 4. Switch the mask in its editable box: the forward itself changes, so the drawn pattern does.
click mask_box
xdotool key ctrl+a
xdotool type --delay 15 'window:2'
xdotool key Return
await "the window:2 forward" "s['mask'] == 'window:2' and s['analysis']['mask'] == 'window:2' and s['layer'] == $layer and $idle"
new_digest=$(q 's["analysis"]["attention_digest"]')
[ "$new_digest" != "$digest" ] || fail "the attention pattern did not change with the mask (digest $digest)"
echo "mask window:2: attention digest $digest -> $new_digest"

# 5. The screen changed (X's own screenshot, not the app's), and the window's last screenshot is kept.
xwd -root -silent >"$tmp/after.xwd"
changed=$(cmp -l "$tmp/before.xwd" "$tmp/after.xwd" | wc -l || true)
[ "$changed" -gt 10000 ] || fail "only $changed bytes of the screen changed between before typing and the end"
echo "screen: $changed bytes changed"
cp "${js%.json}.png" "$out/xdotool-session.png.part" && mv "$out/xdotool-session.png.part" "$out/xdotool-session.png"

# 6. Ctrl+Q quits cleanly.
xdotool key ctrl+q
end=$((SECONDS + bound))
while kill -0 $gui 2>/dev/null; do
  [ $SECONDS -lt $end ] || fail "Ctrl+Q did not close the window after ${bound}s"
  sleep 0.2
done
trap - EXIT
wait $gui || fail "probescope-gui exited with status $?"
echo "PASS: scripted session, screenshot $out/xdotool-session.png"
