"""Reads an extracted store with plain h5py + numpy and checks it independently of the C++ reader:
shapes, CSR offsets, per-word vectors = mean of their subwords' vectors, attention rows summing to one."""
import json
import sys

import h5py
import numpy as np


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
    checked = 0
    for layer in range(n_layers + 1):
        words = f["acts/words/layer_%d" % layer][:W]
        tokens = f["acts/tokens/layer_%d" % layer][:T]
        assert words.shape == (W, d) and tokens.shape == (T, d), (words.shape, tokens.shape)
        for i in range(n):
            t0 = tok_off[i]
            for w in range(word_off[i], word_off[i + 1]):
                b, e = sub[w]
                assert 0 <= b < e <= tok_off[i + 1] - t0, (i, w, b, e)
                mean = tokens[t0 + b : t0 + e].mean(axis=0)
                err = np.abs(mean - words[w]).max()
                assert err < 1e-5, (layer, i, w, err)
                checked += 1
    for i in range(n):
        assert syn_off[i + 1] - syn_off[i] == word_off[i + 1] - word_off[i] - 1
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
    print("ok: %d snippets, %d tokens, %d words, %d word means checked, %d heads" % (n, T, W, checked, heads))


if __name__ == "__main__":
    main(sys.argv[1])
