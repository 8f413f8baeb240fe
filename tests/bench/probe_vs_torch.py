#!/usr/bin/python3
"""Seconds per AST-Probe fit: Probescope (tests/bench/probe_fit_bench) against the PyTorch-eager loop a
researcher writes after martin-wey/ast-probe (ParserProbe + ParserLoss: padded [B, L] batches, the rank hinge
as [B, L, L] pairwise tensors, cross-entropy with ignore_index, ‖PᵀP − I‖² penalty, Adam), on the same
data (the bench's --dump), the same threads, in one run. Both time a fixed number of steps plus one
validation pass and extrapolate to max_epochs × (steps_per_epoch steps + one validation pass).

  tests/bench/probe_vs_torch.py [--bench build/tests/probes/probe_fit_bench] [--threads 2] [--steps 100]
                                [paper | quickstart]
paper: 20k train / 2k valid snippets of 20-40 words, dim 768, k 128, 625 steps x 20 epochs.
quickstart: studies/quickstart.toml's fits: 800 / 100 snippets (1,000 functions, 80/10/10), dim 192
(roberta-code5), k 64 and 256, 150 steps x 10 epochs; word counts 20-200 (--min-words/--max-words).
Needs: apt-get install python3-torch (benchmarks only; never the product).
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pad_sequence


class ParserProbe(nn.Module):
    def __init__(self, rank, dim, n_c, n_u):
        super().__init__()
        self.proj = nn.Parameter(torch.zeros(dim, rank))
        self.vectors_c = nn.Parameter(torch.zeros(rank, n_c))
        self.vectors_u = nn.Parameter(torch.zeros(rank, n_u))
        for p in (self.proj, self.vectors_c, self.vectors_u):
            nn.init.uniform_(p, -0.05, 0.05)

    def forward(self, batch):
        t = torch.matmul(batch, self.proj)
        diff = t[:, 1:] - t[:, :-1]
        return (diff ** 2).sum(-1), torch.matmul(diff, self.vectors_c), torch.matmul(t, self.vectors_u)


def rankloss(inp, target, mask):
    diff = inp[:, :, None] - inp[:, None, :]
    target_diff = ((target[:, :, None] - target[:, None, :]) > 0).float()
    mask = mask[:, :, None] * mask[:, None, :] * target_diff
    loss = torch.relu(target_diff - diff)
    return (loss * mask).sum() / (mask.sum() + 1e-9)


class ParserLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.cs = nn.CrossEntropyLoss(ignore_index=-1)

    def forward(self, d_pred, scores_c, scores_u, d_real, c_real, u_real, lengths):
        lens_d = lengths - 1
        mask = (torch.arange(int(lens_d.max()))[None, :] < lens_d[:, None]).float()
        loss_d = rankloss(d_pred, d_real, mask)
        loss_c = self.cs(scores_c.reshape(-1, scores_c.shape[2]), c_real.reshape(-1))
        loss_u = self.cs(scores_u.reshape(-1, scores_u.shape[2]), u_real.reshape(-1))
        return loss_d, loss_c, loss_u


def load(dump):
    n_train, n_valid, dim, n_c, n_u = (int(v) for v in open(os.path.join(dump, "meta.txt")).read().split())
    lengths = np.fromfile(os.path.join(dump, "lengths.i32"), np.int32)
    flat = {k: torch.from_numpy(np.fromfile(os.path.join(dump, k + ".i32"), np.int32).astype(np.int64)) for k in "dcu"}
    vec = torch.from_numpy(np.fromfile(os.path.join(dump, "vectors.f16"), np.float16).reshape(-1, dim))
    samples, w, p = [], 0, 0
    for n in lengths:  # per snippet: vectors (float32, as a DataLoader of embeddings yields them), d, c, u
        samples.append((vec[w:w + n].float(), flat["d"][p:p + n - 1].float(), flat["c"][p:p + n - 1], flat["u"][w:w + n]))
        w, p = w + n, p + n - 1
    return samples[:n_train], samples[n_train:], dim, n_c, n_u


def collate(batch):
    emb = pad_sequence([s[0] for s in batch], batch_first=True)
    d = pad_sequence([s[1] for s in batch], batch_first=True, padding_value=-1)
    c = pad_sequence([s[2] for s in batch], batch_first=True, padding_value=-1)
    u = pad_sequence([s[3] for s in batch], batch_first=True, padding_value=-1)
    return emb, d, c, u, torch.tensor([len(s[1]) + 1 for s in batch])


def torch_fit_seconds(train, valid, dim, n_c, n_u, rank, steps, fit_steps, fit_epochs, batch=32):
    torch.manual_seed(1)
    probe, criterion = ParserProbe(rank, dim, n_c, n_u), ParserLoss()
    opt = torch.optim.Adam(probe.parameters(), lr=1e-3)
    eye = torch.eye(rank)
    order = np.random.default_rng(1).permutation(len(train))

    def step(i):
        idx = order[(i * batch) % len(train):][:batch]
        emb, d, c, u, lengths = collate([train[j] for j in idx])
        ds, cs, us = probe(emb)
        ld, lc, lu = criterion(ds, cs, us, d, c, u, lengths)
        reg = 5.0 * torch.norm(probe.proj.t() @ probe.proj - eye) ** 2
        loss = ld + lc + lu + reg
        opt.zero_grad()
        loss.backward()
        opt.step()

    for i in range(10):  # warm-up
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    step_s = (time.perf_counter() - t0) / steps
    t0 = time.perf_counter()
    with torch.no_grad():
        total = 0.0
        for b0 in range(0, len(valid), batch):
            emb, d, c, u, lengths = collate(valid[b0:b0 + batch])
            total += sum(float(x) for x in criterion(*probe(emb), d, c, u, lengths))
    valid_s = time.perf_counter() - t0
    return step_s, valid_s, fit_epochs * (fit_steps * step_s + valid_s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scale", nargs="?", default="paper", choices=["paper", "quickstart"])
    ap.add_argument("--bench", default="build/tests/probes/probe_fit_bench")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--min-words", type=int, default=None)
    ap.add_argument("--max-words", type=int, default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.scale == "paper":
        setups = [dict(train=20000, valid=2000, dim=768, rank=128, fit_steps=625, fit_epochs=20, min_words=20, max_words=40)]
    else:
        base = dict(train=800, valid=100, dim=192, fit_steps=150, fit_epochs=10, min_words=20, max_words=200)
        setups = [dict(base, rank=64), dict(base, rank=256)]
    print("load:", open("/proc/loadavg").read().split()[:3], "threads", a.threads, flush=True)
    for s in setups:
        if a.min_words:
            s["min_words"] = a.min_words
        if a.max_words:
            s["max_words"] = a.max_words
        with tempfile.TemporaryDirectory() as dump:
            args = [a.bench, "--threads", str(a.threads), "--steps", str(a.steps), "--dump", dump]
            for k, v in s.items():
                args += ["--" + k.replace("_", "-"), str(v)]
            out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
            print(out.strip(), flush=True)
            ps = {m.group(1): (float(m.group(2)), float(m.group(3)), float(m.group(4)))
                  for m in re.finditer(r"RESULT precision=(\w+) step_ms=([\d.]+) valid_s=([\d.]+) fit_s=([\d.]+)", out)}
            train, valid, dim, n_c, n_u = load(dump)
        step_s, valid_s, fit_s = torch_fit_seconds(train, valid, dim, n_c, n_u, s["rank"], a.steps, s["fit_steps"],
                                                   s["fit_epochs"])
        label = f"{s['train']} x {dim}, k {s['rank']}, {s['min_words']}-{s['max_words']} words, " \
                f"{s['fit_steps']} x {s['fit_epochs']} steps"
        print(f"[{label}] PyTorch eager fp32: {1e3 * step_s:.2f} ms/step, validation {valid_s:.2f} s, fit {fit_s:.1f} s")
        for prec, (ms, vs, fs) in ps.items():
            print(f"[{label}] probescope {prec}: {ms:.2f} ms/step, validation {vs:.2f} s, fit {fs:.1f} s "
                  f"-> x{fit_s / fs:.2f} PyTorch")
        print("load:", open("/proc/loadavg").read().split()[:3], flush=True)


if __name__ == "__main__":
    main()
