#!/usr/bin/env bash
# Joins a model trained in two phases into one shipped directory:
#   data/scripts/join_training_phases.sh MODEL_DIR PHASE2_RUN [PROBESCOPE]
# MODEL_DIR is phase 1's export (config.json, model.safetensors, tokenizer.json, train_log.csv, valid_log.csv,
# checkpoints/); PHASE2_RUN is the `probescope train --init-from MODEL_DIR` run directory. Afterwards MODEL_DIR
# holds phase 2's final model, phase 1's model as checkpoints/step-<phase 1's last step> beside the earlier
# checkpoints, and the logs of both phases with phase 2's steps, tokens and seconds offset by phase 1's, so
# the last train_log.csv row is the step count of the whole training. Built beside MODEL_DIR and swapped in at
# the end, so an interruption leaves MODEL_DIR as it was. A third phase joins the same way: MODEL_DIR is then the
# joined two-phase model, and its final model becomes the checkpoint at phase 2's last step.
set -euo pipefail
dest=${1:?MODEL_DIR}; run=${2:?PHASE2_RUN}; PS=${3:-build/app/cli/probescope}
for f in config.json model.safetensors tokenizer.json train_log.csv valid_log.csv; do
  [ -f "$dest/$f" ] || { echo "join_training_phases: $dest/$f: missing (not a phase-1 export)" >&2; exit 2; }
done
[ -f "$run/train_log.csv" ] || { echo "join_training_phases: $run/train_log.csv: missing (not a run directory)" >&2; exit 2; }
read -r step1 tokens1 seconds1 < <(awk -F, 'NR > 1 {s = $1; t = $4; w = $5} END {print s, t, w}' "$dest/train_log.csv")
final=$(awk -F, 'NR > 1 {s = $1} END {printf "%06d", s}' "$run/train_log.csv")
[ -d "$run/step-$final" ] || { echo "join_training_phases: $run/step-$final: missing (phase 2 not finished?)" >&2; exit 2; }

tmp=$dest.joining
rm -rf "$tmp"
"$PS" train-export "$run/step-$final" --out "$tmp"
mkdir -p "$tmp/checkpoints"
cp -r "$dest"/checkpoints/step-* "$tmp/checkpoints/"
phase1=$tmp/checkpoints/step-$(printf %06d "$step1")
mkdir "$phase1"
cp "$dest/config.json" "$dest/model.safetensors" "$dest/tokenizer.json" "$phase1/"
# train_log: step,lr,loss,tokens,seconds,grad_norm; valid_log: step,tokens,...
{ cat "$dest/train_log.csv"
  awk -F, -v OFS=, -v s="$step1" -v t="$tokens1" -v w="$seconds1" \
    'NR > 1 {$1 += s; $4 += t; $5 = sprintf("%.2f", $5 + w); print}' "$run/train_log.csv"; } > "$tmp/train_log.csv"
{ cat "$dest/valid_log.csv"
  awk -F, -v OFS=, -v s="$step1" -v t="$tokens1" 'NR > 1 {$1 += s; $2 += t; print}' "$run/valid_log.csv"; } > "$tmp/valid_log.csv"
[ -f "$run/valid_by_language.csv" ] && cp "$run/valid_by_language.csv" "$tmp/"
[ -f "$dest/corpora.sha256" ] && cp "$dest/corpora.sha256" "$tmp/"
cmp -s "$dest/tokenizer.json" "$tmp/tokenizer.json" ||
  { echo "join_training_phases: $run: trained with another tokenizer than $dest" >&2; rm -rf "$tmp"; exit 2; }
rm -rf "$dest.old" && mv "$dest" "$dest.old" && mv "$tmp" "$dest" && rm -rf "$dest.old"
echo "join_training_phases: $dest: earlier phases (steps 1-$step1) + this phase (steps $((step1 + 1))-$((step1 + 10#$final)))" >&2
