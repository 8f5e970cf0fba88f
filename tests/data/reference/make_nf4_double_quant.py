#!/usr/bin/env python3
"""Independent numpy reference for NF4 with double-quantized absmax (QLoRA's frozen base in
bitsandbytes' layout), written from the definitions below and not from qzo's C++.

It writes tests/data/reference/nf4_double_quant.safetensors for
tests/unit/test_nf4_double_quant.cpp:
  weight              F32 [24, 768]  seeded Gaussian rows of different scales, one outlier,
                                     one all-zero block
  packed_codes        U8  [24, 384]  NF4 codes, two per byte, the first in the high nibble
  absmax              F32 [288]      per block of 64 weights of a row (row-major block order)
  offset              F32 [1]        the mean absmax
  absmax2             F32 [2]        per block of 256 absmax (the last one holds 32)
  absmax_codes        U8  [288]      indices into the signed dynamic map
  dynamic_map         F32 [256]      the signed dynamic map
  dequantized_absmax  F32 [288]
  dequantized         F32 [24, 768]  the weight as the double-quantized layer decodes it

Definitions (Dettmers et al., QLoRA 2023, section 3; bitsandbytes' quantize_4bit with
compress_statistics=True, whose nested quantize_blockwise uses create_dynamic_map(signed=True)):
- NF4: per block of 64, absmax = max |w| (at least 1e-8); code = the nearest of the 16 NF4
  levels to w / absmax in fp32, ties to the lower index.
- Double quantization: offset = mean(absmax), exact, rounded once to fp32; per block of 256
  absmax in order, absmax2 = max |absmax - offset| (at least 1e-8); absmax code = the nearest
  dynamic-map entry to (absmax - offset) / absmax2 in fp32, ties to the lower index.
- The signed dynamic map (Dettmers 2015, 8-bit approximations; 7 exponent bits): for decade
  i = 0..6, the 2^i midpoints of linspace(0.1, 1, 2^i + 1) times 10^(i - 6), with both signs,
  plus 0 and 1, sorted: 256 values, each the fp32 rounding of the exact rational.
- Decoding: absmax_j = fp32(map[q_j] * absmax2[j // 256]) + offset (two roundings, as
  bitsandbytes' dequantize_blockwise followed by `absmax += offset`); w = absmax * NF4[code].

Run with a python3 that has numpy:
    python3 tests/data/reference/make_nf4_double_quant.py
"""
import json
import os
import sys
from fractions import Fraction
from statistics import NormalDist

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_file import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nf4_double_quant.safetensors")
ROWS, COLS, BLOCK, BLOCK2 = 24, 768, 64, 256
FLOOR = np.float32(1e-8)
f32 = np.float32

# bitsandbytes' NF4 levels as published (QLoRA appendix E), ascending.
NF4 = np.array([
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=np.float32)


def check_nf4_levels():
    """The published levels are the normal quantiles Φ⁻¹(linspace(δ, ½, 9)) (positive) and
    −Φ⁻¹(linspace(δ, ½, 8)) (negative), δ = 0.9677083, plus 0, divided by the largest."""
    delta, phi_inv = 0.9677083, NormalDist().inv_cdf
    pos = [phi_inv(delta + (0.5 - delta) * k / 8) for k in range(8)]
    neg = [-phi_inv(delta + (0.5 - delta) * k / 7) for k in range(7)]
    levels = sorted(pos + neg + [0.0])
    levels = np.array(levels) / max(levels)
    assert np.max(np.abs(levels - NF4.astype(np.float64))) < 1e-6, "NF4 levels are not the normal quantiles"


def round_to_f32(x):
    """The fp32 nearest to the rational x (ties to even): no double rounding via float64."""
    guess = f32(float(x))
    candidates = [np.nextafter(guess, f32(-np.inf)), guess, np.nextafter(guess, f32(np.inf))]
    best = min(candidates, key=lambda c: (abs(Fraction(float(c)) - x), int(c.view(np.uint32)) & 1))
    return f32(best)


def signed_dynamic_map():
    positive = []
    for i in range(7):
        steps = 2 ** i
        bounds = [Fraction(1, 10) + Fraction(9, 10) * Fraction(k, steps) for k in range(steps + 1)]
        positive += [Fraction(1, 10 ** (6 - i)) * (bounds[k] + bounds[k + 1]) / 2 for k in range(steps)]
    values = [-p for p in positive] + [Fraction(0), Fraction(1)] + positive
    values.sort()
    assert len(values) == 256
    return np.array([round_to_f32(v) for v in values], dtype=np.float32)


def nearest(x, levels):
    """Index of the nearest level to each x, distances in fp32, ties to the lower index."""
    distance = np.abs(x.astype(np.float32)[:, None] - levels[None, :])
    return np.argmin(distance, axis=1).astype(np.uint8)


def seeded_weight():
    rng = np.random.default_rng(20240613)
    row_scale = np.exp(rng.uniform(-1.5, 1.5, size=(ROWS, 1)))
    w = (0.02 * row_scale * rng.standard_normal((ROWS, COLS))).astype(np.float32)
    w[5, 300] = f32(0.75)  # an outlier: its block's absmax sits far above the mean
    w[3, 64:128] = 0.0     # an all-zero block: absmax at the floor
    return w


def nf4_quantize(w):
    blocks = w.reshape(-1, BLOCK)
    absmax = np.maximum(np.max(np.abs(blocks), axis=1), FLOOR).astype(np.float32)
    codes = nearest((blocks / absmax[:, None]).astype(np.float32).reshape(-1), NF4).reshape(blocks.shape)
    return codes.reshape(w.shape), absmax


def pack_high_first(codes):
    return ((codes[:, 0::2] << 4) | codes[:, 1::2]).astype(np.uint8)


def double_quantize(absmax, dynamic_map):
    offset = round_to_f32(sum(Fraction(float(a)) for a in absmax) / len(absmax))
    centered = (absmax - offset).astype(np.float32)
    absmax2, codes = [], []
    for b0 in range(0, len(centered), BLOCK2):
        block = centered[b0:b0 + BLOCK2]
        a2 = max(f32(np.max(np.abs(block))), FLOOR)
        absmax2.append(a2)
        codes.append(nearest((block / a2).astype(np.float32), dynamic_map))
    return offset, np.array(absmax2, dtype=np.float32), np.concatenate(codes)


def decode(offset, absmax2, absmax_codes, dynamic_map, codes):
    block_of = np.arange(len(absmax_codes)) // BLOCK2
    product = (dynamic_map[absmax_codes] * absmax2[block_of]).astype(np.float32)
    absmax = (product + offset).astype(np.float32)
    w = (absmax[:, None] * NF4[codes.reshape(-1, BLOCK)]).astype(np.float32)
    return absmax, w.reshape(codes.shape)


def main():
    check_nf4_levels()
    dynamic_map = signed_dynamic_map()
    assert dynamic_map[0] == f32(-0.99296875) and dynamic_map[127] == 0 and dynamic_map[255] == 1
    assert np.all(np.diff(dynamic_map) > 0)
    w = seeded_weight()
    codes, absmax = nf4_quantize(w)
    offset, absmax2, absmax_codes = double_quantize(absmax, dynamic_map)
    dequantized_absmax, dequantized = decode(offset, absmax2, absmax_codes, dynamic_map, codes)
    # Decoded absmax lie within half the map's widest gap (1/128 of the top decade) of the
    # true ones, scaled by absmax2.
    block_of = np.arange(len(absmax)) // BLOCK2
    assert np.all(np.abs(dequantized_absmax - absmax) <= absmax2[block_of] * (0.9 / 128 + 1e-6))
    write_safetensors(OUT, {
        "weight": ("F32", w),
        "packed_codes": ("U8", pack_high_first(codes)),
        "absmax": ("F32", absmax),
        "offset": ("F32", np.array([offset], dtype=np.float32)),
        "absmax2": ("F32", absmax2),
        "absmax_codes": ("U8", absmax_codes),
        "dynamic_map": ("F32", dynamic_map),
        "dequantized_absmax": ("F32", dequantized_absmax),
        "dequantized": ("F32", dequantized),
    })
    print(f"wrote {OUT}: {len(absmax)} absmax in {len(absmax2)} blocks, offset {offset:.6g}")


if __name__ == "__main__":
    main()
