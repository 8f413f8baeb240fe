#!/usr/bin/python3
"""Independent safetensors writer/reader (python3 stdlib only) for cross-checking the C++ code.

  st_reference.py write FILE   writes a file laid out like the reference writer (tensors sorted by
                               dtype alignment, then name; header padded with spaces to 8 bytes) and
                               prints "name dtype [shape] sha256" per tensor
  st_reference.py read FILE    validates FILE against the format from scratch and prints
                               'metadata=<json>' then "name dtype [shape] sha256" per tensor
"""
import hashlib
import json
import struct
import sys

SIZES = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def shape_str(shape):
    return "[" + ",".join(str(s) for s in shape) + "]"


def write(path):
    tensors = {
        "weight": ("F32", [2, 3], struct.pack("<6f", 1.0, -0.5, 3.0, 1e-3, 0.0, 42.0)),
        "bias": ("F64", [2], struct.pack("<2d", 0.5, -7.25)),
        "ids": ("I64", [], struct.pack("<q", -9)),
        "mask": ("BOOL", [3], bytes([1, 0, 1])),
    }
    order = sorted(tensors, key=lambda n: (-SIZES[tensors[n][0]], n))
    header, buf = {"__metadata__": {"format": "pt"}}, b""
    for name in order:
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(buf), len(buf) + len(data)]}
        buf += data
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + buf)
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        print(name, dtype, shape_str(shape), hashlib.sha256(data).hexdigest())


def read(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, "header not padded to 8 bytes"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    buf = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    print("metadata=" + json.dumps(meta, separators=(",", ":"), sort_keys=True))
    end = 0
    for name in sorted(header, key=lambda k: tuple(header[k]["data_offsets"])):
        t = header[name]
        b, e = t["data_offsets"]
        assert b == end, "tensors do not tile the buffer at " + name
        numel = 1
        for s in t["shape"]:
            numel *= s
        assert e - b == numel * SIZES[t["dtype"]], "size mismatch for " + name
        end = e
    assert end == len(buf), "trailing bytes"
    for name in sorted(header):
        t = header[name]
        b, e = t["data_offsets"]
        print(name, t["dtype"], shape_str(t["shape"]), hashlib.sha256(buf[b:e]).hexdigest())


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
