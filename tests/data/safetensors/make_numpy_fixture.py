#!/usr/bin/env python3
"""Writes numpy_fixture.safetensors by hand (struct + json, no safetensors library), so that
the C++ reader is checked against a file it did not write. Deliberately unlike qzo's writer:
header keys unsorted, header not padded (data section unaligned), data in reverse order.
Each half-precision tensor has a companion "<name>.as_f32" holding numpy's own decoding.
Run: python3 tests/data/safetensors/make_numpy_fixture.py  (needs numpy)."""
import json
import os
import struct

import numpy as np


def bf16_bits(x):
    """float32 -> bfloat16 bit patterns, round to nearest even (inputs here are finite)."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def main():
    f32 = (np.arange(12, dtype=np.float32) * 0.25 - 1.0).reshape(3, 4)
    f16 = np.array([[0.5, -1.25, 65504.0], [2.0**-24, 1.0 / 3.0, -0.0]], dtype=np.float16)
    bf16_src = np.array([1.0 / 3.0, -2.5, 1.0e30, np.pi, 1.0 + 2.0**-8], dtype=np.float32)
    bf16 = bf16_bits(bf16_src)
    bf16_as_f32 = (bf16.astype(np.uint32) << 16).view(np.float32)
    tensors = [  # (name, dtype, shape, raw bytes)
        ("weights.f32", "F32", [3, 4], f32.tobytes()),
        ("weights.f16", "F16", [2, 3], f16.tobytes()),
        ("weights.f16.as_f32", "F32", [2, 3], f16.astype(np.float32).tobytes()),
        ("weights.bf16", "BF16", [5], bf16.tobytes()),
        ("weights.bf16.as_f32", "F32", [5], bf16_as_f32.tobytes()),
        ("ids.i64", "I64", [3], np.array([-3, 0, 2**40], dtype="<i8").tobytes()),
        ("mask.bool", "BOOL", [3], np.array([True, False, True]).tobytes()),
        ("scalar.i32", "I32", [], np.array(7, dtype="<i4").tobytes()),
        ("empty.u8", "U8", [0], b""),
    ]
    # Data laid out in reverse list order; header keys in list order (not sorted).
    offsets, pos = {}, 0
    for name, _, _, raw in reversed(tensors):
        offsets[name] = (pos, pos + len(raw))
        pos += len(raw)
    header = {"__metadata__": {"format": "np", "writer": "make_numpy_fixture.py"}}
    for name, dtype, shape, _ in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": list(offsets[name])}
    text = json.dumps(header, separators=(",", ":")).encode()
    if len(text) % 8 == 0:  # keep the data section misaligned on purpose
        text += b" "
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numpy_fixture.safetensors")
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, raw in reversed(tensors):
            f.write(raw)
    print(out, 8 + len(text) + pos, "bytes")


if __name__ == "__main__":
    main()
