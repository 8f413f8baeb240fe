"""Training throughput: `probescope train` against the PyTorch-eager GPT-2 training loop a researcher writes
(nn.Module, AdamW, gradient clipping, optional bf16 autocast), same shape, batch and threads, in one run."""
import csv
import math
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPE = dict(layers=6, d=256, heads=4, ctx=256, batch_tokens=8192)
STEPS = 10


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.heads = heads

    def forward(self, x, causal):
        B, S, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, -1)
        q, k, v = (t.view(B, S, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        a = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.heads)
        a = a.masked_fill(~causal, torch.finfo(a.dtype).min).softmax(-1)
        x = x + self.proj((a @ v).transpose(1, 2).reshape(B, S, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, vocab, layers, d, heads, ctx):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.register_buffer("causal", torch.tril(torch.ones(ctx, ctx, dtype=torch.bool)))

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for b in self.blocks:
            x = b(x, self.causal)
        return self.ln_f(x) @ self.wte.weight.t()  # tied embeddings


def torch_loop(vocab, bf16):
    torch.manual_seed(0)
    s = SHAPE
    m = GPT2(vocab, s["layers"], s["d"], s["heads"], s["ctx"])
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    rows = s["batch_tokens"] // s["ctx"]
    data = torch.randint(0, vocab, (rows, s["ctx"] + 1))
    times = []
    for step in range(STEPS):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = m(data[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, vocab), data[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t)
    return rows * s["ctx"] * (STEPS - 1) / sum(times[1:])  # the first step pays for allocation


def probescope_train(a, bf16):
    s = SHAPE
    out = os.path.join(a.work, f"train_{'bf16' if bf16 else 'fp32'}")
    subprocess.run(["rm", "-rf", out], check=True)
    cmd = [a.probescope, "train", "--corpus", a.corpus, "--tokenizer", a.tokenizer, "--out", out, "--arch", "gpt2",
           "--layers", str(s["layers"]), "--d-model", str(s["d"]), "--heads", str(s["heads"]), "--ctx", str(s["ctx"]),
           "--batch-tokens", str(s["batch_tokens"]), "--steps", str(STEPS), "--warmup", "1", "--threads",
           str(a.threads), "--bf16", "on" if bf16 else "off", "--eval-every", "100000", "--eval-tokens", "2048"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit("train failed: " + p.stderr[-2000:])
    log = list(csv.DictReader(open(os.path.join(out, "train_log.csv"))))
    tokens = float(log[-1]["tokens"]) - float(log[0]["tokens"])
    return tokens / (float(log[-1]["seconds"]) - float(log[0]["seconds"]))


def compare(a, vocab):
    s = SHAPE
    print(f"\ntraining: GPT-2 {s['layers']} layers, d {s['d']}, {s['heads']} heads, ctx {s['ctx']}, "
          f"{s['batch_tokens']} tokens/step, AdamW, {STEPS} steps (first excluded)")
    print(f"{'run':40s} {'tokens/s':>9s}")
    for bf16 in (False, True):
        name = "bf16 autocast" if bf16 else "float32"
        t = torch_loop(vocab, bf16)
        p = probescope_train(a, bf16)
        print(f"{'PyTorch eager ' + name:40s} {t:9.0f}")
        print(f"{'probescope train ' + name:40s} {p:9.0f}   x{p / t:.2f}")
