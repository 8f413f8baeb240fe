"""The PyTorch-eager baseline a researcher would write with Debian's python3-torch (no `transformers` here):
a Hugging Face GPT-2 / LLaMA forward with output_hidden_states, in the same op order as HF's eager code, read
from the same safetensors checkpoint Probescope loads. Used only by benchmarks (tests/bench), never by the
product.
"""
import json
import math
import os
import struct

import numpy as np
import torch

_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


def write_safetensors(path, tensors):
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for c in chunks:
            f.write(c)


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        buf = bytearray(raw[8 + n + a:8 + n + b])
        dt = _ST_DTYPES[e["dtype"]]
        if dt == torch.bfloat16:
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(buf, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out


def random_gpt2(out_dir, vocab, layers=12, d=768, heads=12, positions=1024, seed=1):
    """A GPT-2-small-shaped checkpoint in the HF layout (Conv1D weights [in, out]), init as HF's _init_weights."""
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    std = 0.02
    w = {"wte.weight": torch.randn(vocab, d, generator=g) * std, "wpe.weight": torch.randn(positions, d, generator=g) * std,
         "ln_f.weight": torch.ones(d), "ln_f.bias": torch.zeros(d)}
    for i in range(layers):
        p = f"h.{i}."
        w[p + "ln_1.weight"], w[p + "ln_1.bias"] = torch.ones(d), torch.zeros(d)
        w[p + "ln_2.weight"], w[p + "ln_2.bias"] = torch.ones(d), torch.zeros(d)
        w[p + "attn.c_attn.weight"] = torch.randn(d, 3 * d, generator=g) * std
        w[p + "attn.c_attn.bias"] = torch.zeros(3 * d)
        w[p + "attn.c_proj.weight"] = torch.randn(d, d, generator=g) * std / math.sqrt(2 * layers)
        w[p + "attn.c_proj.bias"] = torch.zeros(d)
        w[p + "mlp.c_fc.weight"] = torch.randn(d, 4 * d, generator=g) * std
        w[p + "mlp.c_fc.bias"] = torch.zeros(4 * d)
        w[p + "mlp.c_proj.weight"] = torch.randn(4 * d, d, generator=g) * std / math.sqrt(2 * layers)
        w[p + "mlp.c_proj.bias"] = torch.zeros(d)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), w)
    cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": vocab, "n_positions": positions,
           "n_ctx": positions, "n_embd": d, "n_layer": layers, "n_head": heads, "activation_function": "gelu_new",
           "layer_norm_epsilon": 1e-5, "initializer_range": std, "bos_token_id": 0, "eos_token_id": 0,
           "tie_word_embeddings": True, "torch_dtype": "float32"}
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)


class GPT2:
    """HF GPT2Model's eager forward (output_hidden_states=True), weights as plain tensors."""

    def __init__(self, model_dir, dtype):
        self.cfg = json.load(open(os.path.join(model_dir, "config.json")))
        w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
        self.w = {k.removeprefix("transformer."): v.to(dtype) for k, v in w.items()}
        self.L, self.d, self.H = self.cfg["n_layer"], self.cfg["n_embd"], self.cfg["n_head"]
        self.eps = self.cfg.get("layer_norm_epsilon", 1e-5)

    def _ln(self, x, p):
        return torch.nn.functional.layer_norm(x, (self.d,), self.w[p + ".weight"], self.w[p + ".bias"], self.eps)

    def _conv1d(self, x, p):  # HF Conv1D: addmm(bias, x, weight[in, out])
        shape = x.shape[:-1] + (self.w[p + ".weight"].shape[1],)
        return torch.addmm(self.w[p + ".bias"], x.reshape(-1, x.shape[-1]), self.w[p + ".weight"]).view(shape)

    def forward(self, ids, attention_mask):
        """ids [B,S] int64, attention_mask [B,S] 1/0 (right padding) → list of L+1 hidden states [B,S,d]."""
        B, S = ids.shape
        hd = self.d // self.H
        pos = torch.arange(S).unsqueeze(0)
        x = self.w["wte.weight"][ids] + self.w["wpe.weight"][pos]
        causal = torch.tril(torch.ones(S, S, dtype=torch.bool)).view(1, 1, S, S)
        pad = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        states = [x]
        for i in range(self.L):
            p = f"h.{i}."
            h = self._ln(x, p + "ln_1")
            q, k, v = self._conv1d(h, p + "attn.c_attn").split(self.d, dim=2)
            q, k, v = (t.view(B, S, self.H, hd).transpose(1, 2) for t in (q, k, v))
            a = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
            a = torch.where(causal, a, torch.tensor(torch.finfo(a.dtype).min, dtype=a.dtype)) + pad
            a = torch.softmax(a, dim=-1).type(v.dtype)
            ctx = torch.matmul(a, v).transpose(1, 2).reshape(B, S, self.d)
            x = x + self._conv1d(ctx, p + "attn.c_proj")
            h = self._ln(x, p + "ln_2")
            x = x + self._conv1d(torch.nn.functional.gelu(self._conv1d(h, p + "mlp.c_fc"), approximate="tanh"),
                                 p + "mlp.c_proj")
            states.append(x)
        states[-1] = self._ln(x, "ln_f")
        return states


def pooled_extract(model, seqs, pools, batch, order, out_path, layers, h5py):
    """The researcher's loop: padded batches of `batch`, output_hidden_states, mean-pool subwords to words
    (pools[i] = (word index, token index) pairs, as the store's tables/word_pool), append to HDF5 with h5py.
    Returns (seconds, real tokens, padded slots)."""
    import time
    idx = list(range(len(seqs)))
    if order == "sorted":
        idx.sort(key=lambda i: -len(seqs[i]))
    counts = [int(p[0].max()) + 1 if len(p[0]) else 0 for p in pools]
    word_start = np.cumsum([0] + counts)
    t0 = time.perf_counter()
    real = slots = 0
    with h5py.File(out_path, "w") as f:
        dsets = [f.create_dataset(f"layer_{l}", (int(word_start[-1]), model.d), dtype="float16") for l in layers]
        with torch.inference_mode():
            for b in range(0, len(idx), batch):
                part = idx[b:b + batch]
                S = max(len(seqs[i]) for i in part)
                ids = torch.zeros(len(part), S, dtype=torch.long)
                mask = torch.zeros(len(part), S, dtype=torch.long)
                for r, i in enumerate(part):
                    ids[r, :len(seqs[i])] = torch.tensor(seqs[i])
                    mask[r, :len(seqs[i])] = 1
                real += int(mask.sum())
                slots += ids.numel()
                states = model.forward(ids, mask)
                for d, l in zip(dsets, layers):
                    hs = states[l].float()
                    for r, i in enumerate(part):
                        word, tok = pools[i]
                        n = counts[i]
                        pooled = torch.zeros(n, model.d).index_add_(0, word, hs[r, tok])
                        pooled /= torch.bincount(word, minlength=n).clamp(min=1).unsqueeze(1)
                        d[word_start[i]:word_start[i + 1]] = pooled.half().numpy()
    return time.perf_counter() - t0, real, slots
