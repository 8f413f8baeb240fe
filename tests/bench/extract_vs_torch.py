#!/usr/bin/python3
"""Side-by-side benchmark: `probescope extract` / `probescope train` against the PyTorch-eager loops a
researcher would write with Debian's python3-torch (the same LibTorch 1.13 Probescope links), same model,
snippets and threads, in one run. Prints tokens/s, ratios and the fraction of the measured matmul roofline.

  tests/bench/extract_vs_torch.py --probescope build/app/cli/probescope --corpus .cache/corpora/python.jsonl
      [--snippets 150] [--threads 2] [--work /tmp/ps-bench] [--skip-train] [--skip-corpus-order]
      [--only-train] [--train-arch gpt2,llama]

Needs: apt-get install python3-torch python3-h5py python3-numpy (benchmarks only; never the product).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_gpt2  # noqa: E402
import torch_train  # noqa: E402


def gemm_gflops(dtype, m=2048, k=768, n=3072, reps=5):
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    best = 0.0
    with torch.inference_mode():
        for i in range(reps + 1):
            t = time.perf_counter()
            torch.matmul(a, b)
            s = time.perf_counter() - t
            if i:
                best = max(best, 2 * m * k * n / s / 1e9)
    return best


def best_blas_coretype():
    """The OpenBLAS kernel this CPU's features support, as probescope's re-exec picks it (models/util/blas_kernel.h)."""
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    if "avx512f" in flags:
        return "SkylakeX"
    return "Haswell" if {"avx2", "fma"} <= flags else None


def float32_roofline(threads):
    """fp32 GEMM GFLOP/s at the hardware's limit: Debian's OpenBLAS falls back to its SSE3 Prescott kernel on CPUs
    newer than it knows, so the in-process figure can be 3x below what probescope (which re-execs with the right
    kernel) reaches; the roofline is the better of this process and one with OPENBLAS_CORETYPE set."""
    best = gemm_gflops(torch.float32)
    core = best_blas_coretype()
    if core and "OPENBLAS_CORETYPE" not in os.environ:
        code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); import torch; "
                f"torch.set_num_threads({threads}); import extract_vs_torch as e; print(e.gemm_gflops(torch.float32))")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=dict(os.environ, OPENBLAS_CORETYPE=core))
        if p.returncode == 0:
            best = max(best, float(p.stdout.strip().splitlines()[-1]))
    return best


def run_extract(ps, model, corpus, n, dtype, out, threads):
    cmd = [ps, "extract", "--model", model, "--corpus", corpus, "--splits", "test", "--limit", str(n), "--out", out,
           "--overwrite", "--dtype", dtype, "--threads", str(threads), "--layers", "all", "--no-raw-last-block"]
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode:
        sys.exit("extract failed: " + p.stderr[-2000:])
    text = p.stdout + p.stderr
    m = re.search(r"([\d.]+) s \(([\d.]+) s in forwards, ([\d.]+) s loading the model\)", text)
    tokens = int(re.search(r"(\d+) tokens, (\d+) words", text).group(1))
    return {"tokens": tokens, "seconds": float(m.group(1)), "forward_seconds": float(m.group(2)),
            "load_seconds": float(m.group(3)), "wall": wall}


def workload(store):
    with h5py.File(store, "r") as f:
        off = f["samples/token_offsets"][:]
        ids = f["tokens/input_ids"][:]
        woff = f["tables/word_pool/offsets"][:]
        wword, wtok = f["tables/word_pool/word"][:], f["tables/word_pool/token"][:]
    seqs = [ids[off[i]:off[i + 1]].astype(np.int64).tolist() for i in range(len(off) - 1)]
    pools = [(torch.from_numpy(wword[woff[i]:woff[i + 1]].astype(np.int64)),
              torch.from_numpy(wtok[woff[i]:woff[i + 1]].astype(np.int64))) for i in range(len(off) - 1)]
    return seqs, pools


def useful_flops(seqs, layers, d):
    return float(sum(layers * (24 * d * d * n + 4 * d * n * n) for n in map(len, seqs)))


def print_ratios(base):
    """Ratios for each dtype: `--dtype auto` picks float32 where bf16 matmul does not pay, so the default's figure
    is not always bf16's."""
    for dt, short in (("float32", "fp32"), ("bfloat16", "bf16")):
        e2e = base[f"probescope extract {dt} (end to end, incl. load)"]
        fwd = base[f"probescope extract {dt} (forwards only)"]
        after = base[f"probescope extract {dt} (end to end after load)"]
        print(f"\nratios (probescope {short} end to end over ...):")
        for name in base:
            if name.startswith("PyTorch"):
                print(f"  {name:56s} x{e2e / base[name]:.2f}")
        print(f"  end to end / bare forward ({short}): {e2e / fwd:.2f} with the model load, {after / fwd:.2f} after it")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probescope", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--tokenizer", default="data/models/codegpt-py-small/tokenizer.json")
    ap.add_argument("--snippets", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/tmp/ps-bench-vs-torch")
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-corpus-order", action="store_true", help="skip the slow unsorted PyTorch loop")
    ap.add_argument("--only-train", action="store_true", help="only the training comparison (no extraction)")
    ap.add_argument("--train-arch", default="gpt2,llama", help="training shapes to compare (comma-separated)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    model = os.path.join(a.work, "gpt2-small-random")
    vocab = len(json.load(open(a.tokenizer))["model"]["vocab"])
    if a.only_train:
        torch_train.compare(a, vocab)
        return
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        torch_gpt2.random_gpt2(model, vocab)
    shutil.copy(a.tokenizer, os.path.join(model, "tokenizer.json"))
    print(f"model: random GPT-2-small shape (12 layers, d 768, vocab {vocab}); threads {a.threads}; "
          f"torch {torch.__version__}")

    rows = []
    ps = {}
    for dt in ("float32", "bfloat16"):
        ps[dt] = run_extract(a.probescope, model, a.corpus, a.snippets, dt, os.path.join(a.work, f"ps_{dt}.h5"), a.threads)
    seqs, pools = workload(os.path.join(a.work, "ps_float32.h5"))
    T = sum(map(len, seqs))
    print(f"workload: {len(seqs)} test snippets, {T} tokens, lengths {min(map(len, seqs))}-{max(map(len, seqs))}")
    flops = useful_flops(seqs, 12, 768)
    roof = {"float32": float32_roofline(a.threads), "bfloat16": gemm_gflops(torch.bfloat16)}
    print(f"matmul roofline ([2048,768]x[768,3072], best of 5): float32 {roof['float32']:.0f} GFLOP/s, "
          f"bfloat16 {roof['bfloat16']:.0f} GFLOP/s; useful forward FLOPs {flops / 1e12:.2f} TFLOP")

    for dt, tdt in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        m = torch_gpt2.GPT2(model, tdt)
        for order in ("corpus", "sorted"):
            if order == "corpus" and a.skip_corpus_order:
                continue
            s, real, slots = torch_gpt2.pooled_extract(m, seqs, pools, 8, order, os.path.join(a.work, "torch.h5"),
                                                       list(range(13)), h5py)
            rows.append((f"PyTorch {dt}, batches of 8, {order} order", T / s, s, 1 - real / slots))
    for dt in ("float32", "bfloat16"):
        r = ps[dt]
        rows.append((f"probescope extract {dt} (end to end, incl. load)", T / r["seconds"], r["seconds"], 0.0))
        after = r["seconds"] - r["load_seconds"]
        rows.append((f"probescope extract {dt} (end to end after load)", T / after, after, 0.0))
        rows.append((f"probescope extract {dt} (forwards only)", T / r["forward_seconds"], r["forward_seconds"], 0.0))

    base = {k: v for k, v, *_ in [(r[0], r[1]) for r in rows]}
    print(f"\n{'run':58s} {'tokens/s':>9s} {'seconds':>8s} {'padding':>8s}")
    for name, tps, s, pad in rows:
        print(f"{name:58s} {tps:9.0f} {s:8.1f} {pad:8.1%}")
    print_ratios(base)
    for dt in ("float32", "bfloat16"):
        achieved = flops / ps[dt]["forward_seconds"] / 1e9
        print(f"  {dt} forwards: {achieved:.0f} useful GFLOP/s = {achieved / roof[dt]:.0%} of the {dt} roofline"
              + (f", {achieved / roof['bfloat16']:.0%} of bf16's" if dt == "float32" else ""))

    if not a.skip_train:
        torch_train.compare(a, vocab)


if __name__ == "__main__":
    main()
