"""Training throughput: `probescope train` against the PyTorch-eager training loop a researcher writes
(nn.Module, AdamW, gradient clipping, optional bf16 autocast) for a GPT-2 and a LLaMA shape (RMSNorm, RoPE,
SwiGLU, as HF's modeling_llama), same shape, batch and threads, in one run."""
import csv
import math
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPE = dict(layers=6, d=256, heads=4, ctx=256, batch_tokens=8192, d_ff_llama=704)
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


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):  # HF LlamaRMSNorm
        xf = x.float()
        return self.weight * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat((-b, a), -1)


class LlamaBlock(nn.Module):
    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.ln1, self.ln2 = RMSNorm(d), RMSNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up, self.down = nn.Linear(d, d_ff, bias=False), nn.Linear(d, d_ff, bias=False), nn.Linear(d_ff, d, bias=False)
        self.heads = heads

    def forward(self, x, causal, cos, sin):
        B, S, d = x.shape
        h = self.ln1(x)
        q, k, v = (p(h).view(B, S, self.heads, d // self.heads).transpose(1, 2) for p in (self.q, self.k, self.v))
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        a = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.heads)
        a = a.masked_fill(~causal, torch.finfo(a.dtype).min).softmax(-1, dtype=torch.float32).to(q.dtype)
        x = x + self.o((a @ v).transpose(1, 2).reshape(B, S, d))
        h = self.ln2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, vocab, layers, d, heads, ctx, d_ff):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(LlamaBlock(d, heads, d_ff) for _ in range(layers))
        self.ln_f = RMSNorm(d)
        self.register_buffer("causal", torch.tril(torch.ones(ctx, ctx, dtype=torch.bool)))
        hd = d // heads
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(ctx).float(), inv)
        emb = torch.cat((ang, ang), -1)
        self.register_buffer("cos", emb.cos())
        self.register_buffer("sin", emb.sin())

    def forward(self, ids):
        x = self.wte(ids)
        S = ids.shape[1]
        cos, sin = self.cos[:S].to(x.dtype), self.sin[:S].to(x.dtype)
        for b in self.blocks:
            x = b(x, self.causal[:S, :S], cos, sin)
        return self.ln_f(x) @ self.wte.weight.t()  # tied embeddings


def torch_loop(vocab, bf16, arch="gpt2"):
    torch.manual_seed(0)
    s = SHAPE
    if arch == "llama":
        m = Llama(vocab, s["layers"], s["d"], s["heads"], s["ctx"], s["d_ff_llama"])
    else:
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


def probescope_train(a, bf16, arch="gpt2"):
    s = SHAPE
    out = os.path.join(a.work, f"train_{arch}_{'bf16' if bf16 else 'fp32'}")
    subprocess.run(["rm", "-rf", out], check=True)
    cmd = [a.probescope, "train", "--corpus", a.corpus, "--tokenizer", a.tokenizer, "--out", out, "--arch", arch,
           "--layers", str(s["layers"]), "--d-model", str(s["d"]), "--heads", str(s["heads"]), "--ctx", str(s["ctx"]),
           "--batch-tokens", str(s["batch_tokens"]), "--steps", str(STEPS), "--warmup", "1", "--threads",
           str(a.threads), "--bf16", "on" if bf16 else "off", "--eval-every", "100000", "--eval-tokens", "2048"]
    if arch == "llama":
        cmd += ["--d-ff", str(s["d_ff_llama"])]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        sys.exit("train failed: " + p.stderr[-2000:])
    log = list(csv.DictReader(open(os.path.join(out, "train_log.csv"))))
    tokens = float(log[-1]["tokens"]) - float(log[0]["tokens"])
    return tokens / (float(log[-1]["seconds"]) - float(log[0]["seconds"]))


REPEATS = 3  # interleaved; the median of each, since a shared VM's speed drifts within a minute


def compare(a, vocab):
    s = SHAPE
    for arch in getattr(a, "train_arch", "gpt2,llama").split(","):
        extra = f", d_ff {s['d_ff_llama']} (SwiGLU)" if arch == "llama" else ""
        print(f"\ntraining: {'GPT-2' if arch == 'gpt2' else 'LLaMA'} {s['layers']} layers, d {s['d']}, {s['heads']} heads"
              f"{extra}, ctx {s['ctx']}, {s['batch_tokens']} tokens/step, AdamW, {STEPS} steps (first excluded), "
              f"median of {REPEATS} interleaved runs")
        print(f"{'run':40s} {'tokens/s':>9s}   runs")
        for bf16 in (False, True):
            name = "bf16 autocast" if bf16 else "float32"
            t, p = [], []
            for _ in range(REPEATS):
                t.append(torch_loop(vocab, bf16, arch))
                p.append(probescope_train(a, bf16, arch))
            tm, pm = sorted(t)[REPEATS // 2], sorted(p)[REPEATS // 2]
            print(f"{'PyTorch eager ' + name:40s} {tm:9.0f}   " + " ".join(f"{x:.0f}" for x in t))
            print(f"{'probescope train ' + name:40s} {pm:9.0f}   " + " ".join(f"{x:.0f}" for x in p) + f"   x{pm / tm:.2f}")
