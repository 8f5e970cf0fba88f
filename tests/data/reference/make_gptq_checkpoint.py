#!/usr/bin/env python3
"""Independent numpy reference for GPTQ checkpoints in the Hugging Face layout (AutoGPTQ,
transformers, optimum), written from the definitions below and not from qzo's C++.

It writes one folder per variant under tests/data/reference/gptq/<variant>/:
  config.json            a tiny Llama (vocab 61, hidden 32, intermediate 64, 2 layers, 4 heads,
                         4 kv heads, head_dim 8) with "quantization_config" (quant_method "gptq")
  model.safetensors      model.embed_tokens.weight, model.layers.{i}.{input,post_attention}_layernorm
                         .weight, model.norm.weight, lm_head.weight (F16), and for every linear X
                         (model.layers.{i}.self_attn.{q,k,v,o}_proj, model.layers.{i}.mlp.{gate,up,
                         down}_proj) X.qweight I32, X.qzeros I32, X.scales F16, X.g_idx I32; no
                         X.weight and no bias
  expected.safetensors   X.weight F32 [out, in] for every linear X: the weight as dequantized below

Variants (bits, group_size, desc_act, sym, checkpoint_format):
  b4-g16-sym-v1 (4, 16, no, yes, gptq)       b4-g16-act-asym-v1 (4, 16, yes, no, gptq)
  b3-g32-asym-v2 (3, 32, no, no, gptq_v2)    b2-g16-act-asym-v2 (2, 16, yes, no, gptq_v2)
  b8-channel-sym-v1 (8, -1, no, yes, gptq)   b3-g16-act-sym-v1 (3, 16, yes, yes, gptq)

Definitions (the HF GPTQ layout):
- A linear has W [out, in]; G = group_size (G = in when group_size = -1); groups = in / G;
  maxq = 2^bits - 1. Codes q[k, o] in [0, maxq] for input k and output o; per (group g, output o)
  an fp16 scale s[g, o] > 0 and an integer zero z[g, o] in [0, maxq].
- g_idx I32 [in]: without desc_act g_idx[k] = k // G; with desc_act a seeded permutation perm of
  the inputs (the order GPTQ visits columns) gives g_idx[perm[i]] = i // G. qweight rows stay in
  the original input order either way.
- Round-to-nearest per (group, output) over the inputs k with g_idx[k] = g (ties to even):
  asymmetric: lo = min(min w, 0), hi = max(max w, 0), scale = (hi - lo) / maxq, rounded to fp16,
  z = clamp(round(-lo / scale16), 0, maxq); symmetric: scale = 2 * absmax / maxq rounded to fp16,
  z = 2^(bits-1). Codes q = clamp(round(w / scale16) + z, 0, maxq), in fp32.
  "gptq" (v1) cannot store a zero of 0, so there an asymmetric z = 0 is nudged to 1 (before the
  codes are computed).
- qweight I32 [in * bits / 32, out]: for each output o the codes q[0..in, o] form one little-endian
  bit stream, code k at stream bits [k * bits, k * bits + bits), stream bit b = bit (b mod 32) of
  qweight[b // 32, o] (at 3 bits: AutoGPTQ's 32 codes in 3 words, codes 10 and 21 straddling).
  The uint32 bit patterns are stored as int32.
- qzeros I32 [groups, out * bits / 32]: the stored zeros packed the same way along the output
  dimension, one stream per group row. Stored zero = z - 1 for "gptq" (v1), z for "gptq_v2".
- scales F16 [groups, out].
- Dequantization: W[o, k] = fp32(s[g_idx[k], o]) * (q[k, o] - z[g_idx[k], o]) in fp32, z being
  the stored zero (+1 for v1).

The weights: seeded Gaussian rows of different scales (exp(U(-1, 1)) * 0.2), one large outlier
per linear (12 row standard deviations), and in q_proj one all-positive group (asymmetric z = 0,
nudged to 1 in v1) and one all-negative group (z = maxq). Non-quantized tensors: normal(0, 0.2),
norm weights 1 + normal(0, 0.1), rounded to fp16.

Run with a python3 that has numpy:
    python3 tests/data/reference/make_gptq_checkpoint.py
"""
import json
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_file import write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "gptq")
SEED = 20240705
f32, f16 = np.float32, np.float16

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "vocab_size": 61,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "head_dim": 8,
    "max_position_embeddings": 64,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "rms_norm_eps": 1e-05,
    "attention_bias": False,
    "mlp_bias": False,
    "hidden_act": "silu",
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "bos_token_id": 1,
    "eos_token_id": 2,
}

# name: (bits, group_size, desc_act, sym, checkpoint_format)
VARIANTS = {
    "b4-g16-sym-v1": (4, 16, False, True, "gptq"),
    "b4-g16-act-asym-v1": (4, 16, True, False, "gptq"),
    "b3-g32-asym-v2": (3, 32, False, False, "gptq_v2"),
    "b2-g16-act-asym-v2": (2, 16, True, False, "gptq_v2"),
    "b8-channel-sym-v1": (8, -1, False, True, "gptq"),
    "b3-g16-act-sym-v1": (3, 16, True, True, "gptq"),
}


def linears(c):
    """(name, out_features, in_features) of every quantized linear, in layer order."""
    h, inter = c["hidden_size"], c["intermediate_size"]
    q_out = c["num_attention_heads"] * c["head_dim"]
    kv_out = c["num_key_value_heads"] * c["head_dim"]
    out = []
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += [(p + "self_attn.q_proj", q_out, h), (p + "self_attn.k_proj", kv_out, h),
                (p + "self_attn.v_proj", kv_out, h), (p + "self_attn.o_proj", h, q_out),
                (p + "mlp.gate_proj", inter, h), (p + "mlp.up_proj", inter, h),
                (p + "mlp.down_proj", h, inter)]
    return out


def rng_for(variant_index, name):
    return np.random.default_rng([SEED, variant_index, zlib.crc32(name.encode())])


# ---------------------------------------------------------------- bit streams

def pack_stream(codes, bits):
    """codes [n, cols] (n * bits a multiple of 32) -> uint32 [n * bits / 32, cols]: each column a
    little-endian bit stream, code k at bits [k * bits, k * bits + bits)."""
    n, cols = codes.shape
    assert (n * bits) % 32 == 0 and codes.min() >= 0 and codes.max() < (1 << bits)
    c = codes.astype(np.uint64)
    stream = np.zeros((n * bits, cols), dtype=np.uint64)
    for j in range(bits):
        stream[j::bits] = (c >> np.uint64(j)) & np.uint64(1)
    stream = stream.reshape(n * bits // 32, 32, cols)
    weights = (np.uint64(1) << np.arange(32, dtype=np.uint64))[None, :, None]
    return (stream * weights).sum(axis=1).astype(np.uint32)


def unpack_per_bit(words, bits, n):
    """Straightforward inverse: read stream bit b from bit b % 32 of word b // 32, one at a time."""
    words = np.asarray(words).view(np.uint32)
    cols = words.shape[1]
    out = np.zeros((n, cols), dtype=np.int64)
    for col in range(cols):
        for k in range(n):
            value = 0
            for j in range(bits):
                b = k * bits + j
                value |= ((int(words[b // 32, col]) >> (b % 32)) & 1) << j
            out[k, col] = value
    return out


def check_autogptq_3bit(words, codes):
    """AutoGPTQ's 3-bit scheme word by word, for each column and each run of 32 codes."""
    words = np.asarray(words).view(np.uint32)
    n, cols = codes.shape
    for col in range(cols):
        for run in range(n // 32):
            q = [int(x) for x in codes[32 * run:32 * run + 32, col]]
            w0 = w1 = w2 = 0
            for j in range(10):
                w0 |= q[j] << (3 * j)
            w0 |= (q[10] & 0x3) << 30
            w1 |= (q[10] >> 2) & 0x1
            for j in range(10):
                w1 |= q[11 + j] << (3 * j + 1)
            w1 |= (q[21] & 0x1) << 31
            w2 |= (q[21] >> 1) & 0x3
            for j in range(10):
                w2 |= q[22 + j] << (3 * j + 2)
            got = [int(words[3 * run + r, col]) for r in range(3)]
            assert got == [w0, w1, w2], f"3-bit layout differs from AutoGPTQ's at column {col}"


def check_simple_layouts(words, codes, bits):
    """At 2, 4, 8 bits: 32 / bits codes per word, code k at shift bits * (k mod per) of row k // per."""
    words = np.asarray(words).view(np.uint32)
    per = 32 // bits
    for k in range(codes.shape[0]):
        got = (words[k // per] >> np.uint32(bits * (k % per))) & np.uint32((1 << bits) - 1)
        assert np.array_equal(got.astype(np.int64), codes[k].astype(np.int64))


def pack_checked(codes, bits):
    words = pack_stream(codes, bits)
    assert np.array_equal(unpack_per_bit(words, bits, codes.shape[0]), codes.astype(np.int64))
    if bits == 3:
        check_autogptq_3bit(words, codes)
    else:
        check_simple_layouts(words, codes, bits)
    return words.view(np.int32)


# ---------------------------------------------------------------- quantization

def seeded_linear(rng, out_f, in_f, g_idx, name):
    row_scale = np.exp(rng.uniform(-1.0, 1.0, size=(out_f, 1)))
    std = 0.2 * row_scale
    w = (std * rng.standard_normal((out_f, in_f))).astype(np.float32)
    o, k = int(rng.integers(out_f)), int(rng.integers(in_f))
    w[o, k] = f32(12.0 * std[o, 0] * (1 if rng.random() < 0.5 else -1))  # a large outlier
    if name.endswith("q_proj"):
        members = g_idx == 0
        w[2, members] = np.abs(w[2, members]) + f32(0.01)   # all positive: asymmetric z = 0
        w[3, members] = -np.abs(w[3, members]) - f32(0.01)  # all negative: asymmetric z = maxq
    return w


def quantize(w, g_idx, groups, bits, sym, v1, nudged):
    """Per (group, output): fp16 scale, integer zero, codes. Returns q [in, out], s16, z [groups, out];
    appends (group, output) to nudged for each v1 zero moved from 0 to 1."""
    out_f, in_f = w.shape
    maxq = (1 << bits) - 1
    s16 = np.zeros((groups, out_f), dtype=np.float16)
    z = np.zeros((groups, out_f), dtype=np.int64)
    q = np.zeros((in_f, out_f), dtype=np.int64)
    for g in range(groups):
        members = np.nonzero(g_idx == g)[0]
        for o in range(out_f):
            x = w[o, members].astype(np.float32)
            if sym:
                absmax = f32(np.max(np.abs(x)))
                scale = f16(f32(2) * absmax / f32(maxq))
                zero = 1 << (bits - 1)
            else:
                lo, hi = min(f32(x.min()), f32(0)), max(f32(x.max()), f32(0))
                if lo == hi:
                    lo, hi = f32(-1), f32(1)
                scale = f16((hi - lo) / f32(maxq))
                zero = int(np.clip(np.round(-lo / f32(scale)), 0, maxq))
                if v1 and zero == 0:
                    zero = 1
                    nudged.append((g, o))
            assert np.isfinite(scale) and scale >= f16(2.0 ** -14), "scale not a normal fp16"
            codes = np.clip(np.round(x / f32(scale)) + zero, 0, maxq).astype(np.int64)
            s16[g, o], z[g, o], q[members, o] = scale, zero, codes
    return q, s16, z


def dequantize(q, s16, z, g_idx):
    s = s16.astype(np.float32)[g_idx]                 # [in, out]
    diff = (q - z[g_idx]).astype(np.float32)          # exact small integers
    return (s * diff).astype(np.float32).T.copy()     # [out, in]


# ---------------------------------------------------------------- files

def plain_tensors(c, variant_index):
    h, v = c["hidden_size"], c["vocab_size"]
    shapes = [("model.embed_tokens.weight", (v, h)), ("lm_head.weight", (v, h)), ("model.norm.weight", (h,))]
    for i in range(c["num_hidden_layers"]):
        shapes += [(f"model.layers.{i}.input_layernorm.weight", (h,)),
                   (f"model.layers.{i}.post_attention_layernorm.weight", (h,))]
    out = {}
    for name, shape in shapes:
        rng = rng_for(variant_index, name)
        if name.endswith("norm.weight"):
            w = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            w = 0.2 * rng.standard_normal(shape)
        out[name] = ("F16", w.astype(np.float16))
    return out


def write_variant(variant_index, variant, spec):
    bits, group_size, desc_act, sym, fmt = spec
    v1 = fmt == "gptq"
    folder = os.path.join(OUT_DIR, variant)
    os.makedirs(folder, exist_ok=True)
    config = dict(CONFIG)
    config["quantization_config"] = {
        "quant_method": "gptq", "bits": bits, "group_size": group_size, "desc_act": desc_act,
        "sym": sym, "checkpoint_format": fmt, "damp_percent": 0.01, "true_sequential": True,
        "static_groups": False,
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    model, expected = plain_tensors(CONFIG, variant_index), {}
    zero_counts, nudged = {"zero0": 0, "zeromax": 0}, []
    for name, out_f, in_f in linears(CONFIG):
        rng = rng_for(variant_index, name)
        g = in_f if group_size == -1 else group_size
        groups = in_f // g
        if desc_act:
            perm = rng.permutation(in_f)
            g_idx = np.zeros(in_f, dtype=np.int32)
            g_idx[perm] = np.arange(in_f) // g
        else:
            g_idx = (np.arange(in_f) // g).astype(np.int32)
        w = seeded_linear(rng, out_f, in_f, g_idx, name)
        q, s16, z = quantize(w, g_idx, groups, bits, sym, v1, nudged)
        assert q.min() >= 0 and q.max() <= (1 << bits) - 1 and z.min() >= 0 and z.max() <= (1 << bits) - 1
        stored = z - 1 if v1 else z
        assert stored.min() >= 0, "v1 cannot store a zero of 0"
        zero_counts["zero0"] += int(np.sum(z == 0))
        zero_counts["zeromax"] += int(np.sum(z == (1 << bits) - 1))
        qweight = pack_checked(q, bits)
        qzeros = np.ascontiguousarray(pack_checked(stored.T, bits).T)  # one stream over outputs per group
        assert qweight.shape == (in_f * bits // 32, out_f) and qzeros.shape == (groups, out_f * bits // 32)
        model[name + ".qweight"] = ("I32", qweight)
        model[name + ".qzeros"] = ("I32", qzeros)
        model[name + ".scales"] = ("F16", s16)
        model[name + ".g_idx"] = ("I32", g_idx)
        deq = dequantize(q, s16, z, g_idx)
        # Round-to-nearest: each weight within one step of its dequantized value (half a step,
        # plus up to half a step where the rounded zero or the v1 nudge shifts the grid's ends).
        step = s16.astype(np.float32)[g_idx].T
        assert np.all(np.abs(deq - w) <= 1.01 * step)
        expected[name + ".weight"] = ("F32", deq)
    if not sym and not v1:
        assert zero_counts["zero0"] > 0, "no group exercises a zero of 0"
    if not sym:
        assert zero_counts["zeromax"] > 0, "no group exercises a zero of maxq"
    if not sym and v1:
        assert nudged, "no v1 zero exercises the nudge from 0 to 1"
    write_safetensors(os.path.join(folder, "model.safetensors"), model, {"format": "pt"})
    write_safetensors(os.path.join(folder, "expected.safetensors"), expected, {"format": "pt"})
    print(f"wrote {folder}: {len(expected)} linears, zeros at 0: {zero_counts['zero0']}, "
          f"at maxq: {zero_counts['zeromax']}, nudged 0 -> 1: {len(nudged)}")


def main():
    assert np.array_equal(pack_stream(np.array([[1], [2], [3], [4], [5], [6], [7], [0]]), 4).view(np.uint32),
                          np.array([[0x07654321]], dtype=np.uint32))
    for index, (variant, spec) in enumerate(VARIANTS.items()):
        write_variant(index, variant, spec)


if __name__ == "__main__":
    main()
