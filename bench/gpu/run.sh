#!/usr/bin/env bash
# Per-stage pipeline times (issues 7, 9) and the refinement benchmark (issue 6) on the GPU machine
# (no network, no node of its own), for docs/PIPELINE.md "Per-stage times" and docs/REFINEMENT.md. Results go to $OUT (or ./bench/out/gpu without it).
#
# Here, from the project root, after `npm ci`:
#   npm run build                      # dist/, including dist/bench/stage-times.js
#   bash ../shared/device/prepare.sh   # .devcarry/: node, onnxruntime-node, Vulkan loader
# Then one device run from the project root, carrying [".devcarry", "dist"]:
#   source .devcarry/setup.sh && bash bench/gpu/run.sh
set -uo pipefail
out=${OUT:-bench/out/gpu}
mkdir -p "$out"
command -v node >/dev/null || { echo "node is not on PATH: source .devcarry/setup.sh first" >&2; exit 1; }
[ -f dist/bench/stage-times.js ] || { echo "dist/bench/stage-times.js missing: run 'npm run build' here and carry dist" >&2; exit 1; }

{
  echo "node $(node --version), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
} > "$out/machine.txt"
cat "$out/machine.txt"

status=0
# webgpu first (what the GPU machine is for), then cpu on the same machine as its baseline, then
# auto (cuda is not installed by `npm ci` here, so auto shows the fallback order at work).
for p in webgpu cpu auto; do
  echo "== $p"
  if node dist/bench/stage-times.js "$p" --json "$out/stage-times-$p.json" > "$out/stage-times-$p.md" 2> "$out/stage-times-$p.stderr.txt"; then
    cat "$out/stage-times-$p.md"
  else
    echo "stage-times $p failed (exit $?); last stderr lines:"; tail -5 "$out/stage-times-$p.stderr.txt"
    status=1
  fi
done
# Issue 6: QUBO-only vs QUBO + TT refinement on the fixture denoisers, WebGPU then CPU on the same
# machine (models, evaluations, validation crops, seeds, provider).
for p in webgpu cpu; do
  echo "== refine $p"
  if node dist/bench/refine.js halfunet,dncnn 600 12 0 "$p" > "$out/refine-$p.md" 2> "$out/refine-$p.stderr.txt"; then
    cat "$out/refine-$p.md"
  else
    echo "refine $p failed (exit $?); last stderr lines:"; tail -5 "$out/refine-$p.stderr.txt"
    status=1
  fi
done
exit $status
