#!/usr/bin/env python3
"""Rewrites a store seed with 4-row chunks (h5py) so the fuzzer mutates metadata, not ~1 MB of empty
chunk space: same datasets, dtypes, shapes, attributes and filters. usage: compact_store.py IN OUT"""
import sys

import h5py

src, dst = sys.argv[1], sys.argv[2]
with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
    for k, v in f.attrs.items():
        g.attrs[k] = v

    def copy(name, obj):
        if isinstance(obj, h5py.Group):
            g.require_group(name)
        else:
            chunks = (4,) + obj.shape[1:]
            d = g.create_dataset(name, data=obj[()], dtype=obj.dtype, maxshape=(None,) + obj.shape[1:], chunks=chunks,
                                 compression=obj.compression, shuffle=obj.shuffle)
        for k, v in obj.attrs.items():
            g[name].attrs[k] = v

    f.visititems(copy)
