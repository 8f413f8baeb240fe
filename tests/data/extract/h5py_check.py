"""Reads an extracted store with plain h5py + numpy and checks it independently of the C++ reader:
shapes, CSR offsets, per-word vectors = mean of exactly the subwords tables/word_pool lists (re-pooled from
acts/tokens), snippet_meta/shared_pairs recounted from word_pool, attention rows summing to one."""
import json
import sys

import h5py
import numpy as np


def decode(ds, rows):
    a = ds[:rows]
    if ds.attrs.get("dtype") == "bfloat16":
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float32)


def main(path):
    f = h5py.File(path, "r")
    assert f.attrs["format"] == "probescope-store", f.attrs["format"]
    assert int(f.attrs["complete"]) == 1
    n = int(f.attrs["committed_samples"])
    manifest = json.loads(f.attrs["manifest_json"])
    n_layers, d = int(manifest["n_layers"]), int(manifest["d_model"])
    tok_off = f["samples/token_offsets"][: n + 1]
    word_off = f["samples/word_offsets"][: n + 1]
    assert tok_off[0] == 0 and word_off[0] == 0 and np.all(np.diff(tok_off) > 0) and np.all(np.diff(word_off) > 0)
    T, W = int(tok_off[-1]), int(word_off[-1])
    assert f["tokens/input_ids"].shape[0] >= T and f["words/spans"].shape[1] == 2
    sub = f["words/subword_spans"][:W]
    syn_off = f["syntax/offsets"][: n + 1]
    # Exactly which subwords each word pooled: (word, token) rows, both relative to the snippet.
    pool_off = f["tables/word_pool/offsets"][: n + 1]
    pool_word = f["tables/word_pool/word"][: pool_off[-1]]
    pool_tok = f["tables/word_pool/token"][: pool_off[-1]]
    pooled = {}  # global word row -> snippet-relative token indices
    shared = 0
    for i in range(n):
        lists = [[] for _ in range(word_off[i + 1] - word_off[i])]
        for r in range(pool_off[i], pool_off[i + 1]):
            lists[pool_word[r]].append(int(pool_tok[r]))
        for w, toks in enumerate(lists):
            assert toks and all(0 <= t < tok_off[i + 1] - tok_off[i] for t in toks), (i, w, toks)
            pooled[word_off[i] + w] = toks
        shared_i = sum(1 for a, b in zip(lists, lists[1:]) if set(a) & set(b))
        assert shared_i == f["tables/snippet_meta/shared_pairs"][i], (i, shared_i)
        shared += shared_i
    cover_differs = sum(1 for w in range(W) if pooled[w] != list(range(sub[w][0], sub[w][1])))
    acts = [("acts/words/layer_%d" % l, "acts/tokens/layer_%d" % l) for l in range(n_layers + 1)]
    raw = manifest.get("raw_last_block", "")
    checked = 0
    for words_name, tokens_name in acts:
        if tokens_name not in f:
            continue
        words, tokens = decode(f[words_name], W), decode(f[tokens_name], T)
        # float32 stores re-pool to 1e-5; fp16/bf16 ones to their rounding of both tables.
        tol = 1e-5 if f[words_name].dtype == np.float32 else 1e-2
        assert words.shape == (W, d) and tokens.shape == (T, d), (words.shape, tokens.shape)
        for i in range(n):
            t0 = tok_off[i]
            for w in range(word_off[i], word_off[i + 1]):
                b, e = sub[w]
                assert 0 <= b < e <= tok_off[i + 1] - t0, (i, w, b, e)
                mean = tokens[t0 + np.array(pooled[w])].mean(axis=0)
                err = (np.abs(mean - words[w]) / (1 + np.abs(words[w]))).max()
                assert err < tol, (words_name, i, w, err)
                checked += 1
    if raw:
        assert f["acts/" + raw].shape == (W, d), raw
    for i in range(n):
        assert syn_off[i + 1] - syn_off[i] == word_off[i + 1] - word_off[i] - 1
    if "tables/attn/layer_1" not in f:
        print("ok: %d snippets, %d tokens, %d words, %d word means checked, %d shared pairs, %d words whose "
              "pooled set is not their subword_spans range" % (n, T, W, checked, shared, cover_differs))
        return
    pat = f["tables/attn/layer_1/pattern"]
    att_off = f["tables/attn/layer_1/offsets"][: n + 1]
    heads = None
    for i in range(n):
        m = int(tok_off[i + 1] - tok_off[i])
        rows = pat[att_off[i] : att_off[i + 1]]
        h = rows.size // (m * m)
        heads = heads or h
        assert h == heads and h * m * m == rows.size
        sums = rows.reshape(h, m, m).sum(axis=-1)
        assert np.abs(sums - 1).max() < 1e-4
    print("ok: %d snippets, %d tokens, %d words, %d word means checked, %d heads, %d shared pairs, %d words whose "
          "pooled set is not their subword_spans range" % (n, T, W, checked, heads, shared, cover_differs))


if __name__ == "__main__":
    main(sys.argv[1])
