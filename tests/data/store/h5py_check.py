"""Reads a store written by store_tests with plain h5py + numpy and checks it against expected.json.

Usage: /usr/bin/python3 h5py_check.py STORE.h5 EXPECTED.json   (exit 0 = ok; prints the first problem)
"""
import json
import sys
import traceback

import h5py
import numpy as np


def bf16(a):
    """uint16 bfloat16 bits -> float32 (h5py has no bfloat16)."""
    return (np.asarray(a, dtype=np.uint32) << 16).view(np.float32)


def main(path, expected_path):
    exp = json.load(open(expected_path))
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "probescope-store", f.attrs["format"]
        n = int(f.attrs["committed_samples"])
        assert n == exp["n"], (n, exp["n"])
        assert int(f.attrs["complete"]) == 1
        manifest = json.loads(f.attrs["manifest_json"])
        for k, v in exp["manifest"].items():
            assert manifest[k] == v and f.attrs[k] == v, k
        schema = json.loads(f.attrs["schema_json"])
        assert schema["acts"]["words/layer_1"]["dtype"] == "bfloat16"

        tok = f["samples/token_offsets"][: n + 1]
        wrd = f["samples/word_offsets"][: n + 1]
        assert tok.dtype == np.int64 and tok[0] == 0 and np.all(np.diff(tok) >= 0)
        assert f["tokens/input_ids"].dtype == np.int32 and f["tokens/input_ids"].shape[0] >= tok[-1]
        assert f["tokens/char_spans"].shape[1:] == (2,)
        assert f["words/spans"].shape[1:] == (2,) and f["words/subword_spans"].shape[1:] == (2,)
        a16 = f["acts/tokens/layer_1"]
        assert a16.dtype == np.float16 and a16.shape[1] == 8 and a16.attrs["rows"] == "tokens"
        abf = f["acts/words/layer_1"]
        assert abf.dtype == np.uint16 and abf.attrs["dtype"] == "bfloat16" and abf.shape[1] == 6
        assert f["acts/tokens/layer_0"].dtype == np.float32
        assert f["acts/tokens/layer_1"].compression == "gzip"
        syn = f["syntax/offsets"][: n + 1]
        c_vocab = [s.decode() for s in f["syntax/c_vocab"][:]]
        u_vocab = [s.decode() for s in f["syntax/u_vocab"][:]]
        ids = [s.decode() for s in f["samples/ids"][:n]]
        parents_off = f["tables/structural/offsets"][: n + 1]

        for s in exp["snippets"]:
            i = s["index"]
            t0, t1 = tok[i], tok[i + 1]
            w0, w1 = wrd[i], wrd[i + 1]
            assert ids[i] == s["id"], (ids[i], s["id"])
            assert f["tokens/input_ids"][t0:t1].tolist() == s["input_ids"], i
            assert f["tokens/char_spans"][t0:t1].tolist() == s["char_spans"], i
            assert f["words/spans"][w0:w1].tolist() == s["word_spans"], i
            assert f["words/subword_spans"][w0:w1].tolist() == s["subwords"], i
            got16 = a16[t0:t1].astype(np.float32)
            assert np.array_equal(got16, np.array(s["tokens_layer_1"], dtype=np.float32).reshape(got16.shape)), i
            gotbf = bf16(abf[w0:w1])
            assert np.array_equal(gotbf, np.array(s["words_layer_1"], dtype=np.float32).reshape(gotbf.shape)), i
            assert f["syntax/d"][syn[i]:syn[i + 1]].tolist() == s["d"], i
            assert [c_vocab[j] for j in f["syntax/c"][syn[i]:syn[i + 1]]] == s["c"], i
            assert [u_vocab[j] for j in f["syntax/u"][w0:w1]] == s["u"], i
            p = f["tables/structural/parent"][parents_off[i]:parents_off[i + 1]]
            assert p.tolist() == s["parent"], i
    print("ok: %d samples" % n)


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except AssertionError as e:
        print("h5py check failed: %r\n%s" % (e.args, traceback.format_exc()))
        sys.exit(1)
