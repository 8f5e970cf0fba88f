#!/usr/bin/env python3
"""Independent numpy reference for the Llama-family forward pass (Hugging Face semantics).

For each tiny config below it writes tests/data/reference/<name>/:
  config.json          HF config
  model.safetensors    random F32 weights under HF tensor names (fixed seed)
  reference.safetensors
      input_ids            I32 [2, 7]
      logits               F32 [2, 7, V]  float64 forward on the stored F32 weights
      logits_bf16_weights  F32 [2, 7, V]  the same with every weight rounded to bf16 (RNE),
                                          i.e. what a model that stores its weights as BF16 sees

The math follows transformers' LlamaForCausalLM / Qwen2ForCausalLM: RMSNorm
x * rsqrt(mean(x^2) + eps) * w; q/k/v projections (+ bias for Qwen2); RoPE with rotate_half
(pairs (i, i + d/2)), inv_freq = 1 / theta^(2i/d) and optional llama3 scaling; grouped-query
causal attention (query head h reads kv head h // (H / KV)), scale 1/sqrt(head_dim); o_proj;
residual; RMSNorm; down(silu(gate(x)) * up(x)); residual; final norm; lm_head or tied embeddings.
Everything is computed in float64 from the float32 values that are stored.

Before writing, the vectorised forward is checked against a second, loop-by-loop
implementation (complex-number RoPE, per-frequency llama3 rule as in Meta's reference code),
and for the properties any correct forward has: invariance to a shift of all positions,
causality, GQA == MHA with repeated k/v heads. The script exits non-zero if a check fails.

Run with a python3 that has numpy (Debian: python3-numpy):
    python3 tests/data/reference/make_reference.py
"""
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_file import write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIGS = {
    "llama": {
        "seed": 20240601,
        "config": {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": 61,
            "hidden_size": 32,
            "intermediate_size": 40,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 8,
            "max_position_embeddings": 64,
            "rope_theta": 10000.0,
            "rope_scaling": None,
            "rms_norm_eps": 1e-05,
            "attention_bias": False,
            "mlp_bias": False,
            "hidden_act": "silu",
            "tie_word_embeddings": False,
            "torch_dtype": "float32",
            "bos_token_id": 1,
            "eos_token_id": 2,
        },
    },
    "qwen2": {
        "seed": 20240602,
        "config": {
            "architectures": ["Qwen2ForCausalLM"],
            "model_type": "qwen2",
            "vocab_size": 53,
            "hidden_size": 24,
            "intermediate_size": 36,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "head_dim": 6,
            "max_position_embeddings": 64,
            "rope_theta": 500000.0,
            "rope_scaling": {
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 16,
            },
            "rms_norm_eps": 1e-06,
            "attention_bias": True,
            "use_sliding_window": False,
            "hidden_act": "silu",
            "tie_word_embeddings": True,
            "torch_dtype": "float32",
            "bos_token_id": 1,
            "eos_token_id": 2,
        },
    },
}
BATCH, SEQ = 2, 7


# ---------------------------------------------------------------- safetensors (by hand)

# ---------------------------------------------------------------- weights

def parameter_shapes(c):
    H, I, V, D = c["hidden_size"], c["intermediate_size"], c["vocab_size"], c["head_dim"]
    q_dim, kv_dim = c["num_attention_heads"] * D, c["num_key_value_heads"] * D
    shapes = {"model.embed_tokens.weight": (V, H)}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        shapes[p + "input_layernorm.weight"] = (H,)
        shapes[p + "self_attn.q_proj.weight"] = (q_dim, H)
        shapes[p + "self_attn.k_proj.weight"] = (kv_dim, H)
        shapes[p + "self_attn.v_proj.weight"] = (kv_dim, H)
        if c["attention_bias"]:
            shapes[p + "self_attn.q_proj.bias"] = (q_dim,)
            shapes[p + "self_attn.k_proj.bias"] = (kv_dim,)
            shapes[p + "self_attn.v_proj.bias"] = (kv_dim,)
        shapes[p + "self_attn.o_proj.weight"] = (H, q_dim)
        shapes[p + "post_attention_layernorm.weight"] = (H,)
        shapes[p + "mlp.gate_proj.weight"] = (I, H)
        shapes[p + "mlp.up_proj.weight"] = (I, H)
        shapes[p + "mlp.down_proj.weight"] = (H, I)
    shapes["model.norm.weight"] = (H,)
    if not c["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (V, H)
    return shapes


def random_weights(c, seed):
    """float32 weights: normal(0, 0.2); norm weights normal(1, 0.2)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in parameter_shapes(c).items():  # insertion order: fixed by the code above
        w = rng.normal(0.0, 0.2, size=shape)
        if name.endswith("norm.weight"):
            w += 1.0
        weights[name] = w.astype(np.float32)
    return weights


def round_to_bf16(w):
    bits = w.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint32) << 16
    return rounded.view(np.float32)


# ---------------------------------------------------------------- forward (vectorised)

def inv_frequencies(c):
    D = c["head_dim"]
    inv_freq = 1.0 / (c["rope_theta"] ** (np.arange(0, D, 2, dtype=np.float64) / D))
    rs = c.get("rope_scaling")
    if not rs:
        return inv_freq
    assert rs["rope_type"] == "llama3"
    factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old_len = rs["original_max_position_embeddings"]
    low_freq_wavelen, high_freq_wavelen = old_len / low, old_len / high
    wavelen = 2 * math.pi / inv_freq
    scaled = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_len / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
    return np.where(medium, smoothed, scaled)


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def apply_rope(x, positions, inv_freq):
    """x: [B, heads, T, D]; rotate_half convention."""
    freqs = np.outer(positions, inv_freq)           # [T, D/2]
    emb = np.concatenate([freqs, freqs], axis=-1)   # [T, D]
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * np.cos(emb) + rotated * np.sin(emb)


def silu(x):
    return x / (1.0 + np.exp(-x))


def forward(c, weights, ids, position_offset=0):
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    B, T = ids.shape
    NH, KV, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    eps = c["rms_norm_eps"]
    positions = np.arange(T, dtype=np.float64) + position_offset
    inv_freq = inv_frequencies(c)
    causal = np.triu(np.ones((T, T), dtype=bool), k=1)

    def linear(x, name):
        y = x @ W[name + ".weight"].T
        return y + W[name + ".bias"] if name + ".bias" in W else y

    h = W["model.embed_tokens.weight"][ids]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        x = rms_norm(h, W[p + "input_layernorm.weight"], eps)
        q = linear(x, p + "self_attn.q_proj").reshape(B, T, NH, D).transpose(0, 2, 1, 3)
        k = linear(x, p + "self_attn.k_proj").reshape(B, T, KV, D).transpose(0, 2, 1, 3)
        v = linear(x, p + "self_attn.v_proj").reshape(B, T, KV, D).transpose(0, 2, 1, 3)
        q, k = apply_rope(q, positions, inv_freq), apply_rope(k, positions, inv_freq)
        k, v = np.repeat(k, NH // KV, axis=1), np.repeat(v, NH // KV, axis=1)
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(D)
        scores = np.where(causal, -np.inf, scores)
        probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        attn = (probs @ v).transpose(0, 2, 1, 3).reshape(B, T, NH * D)
        h = h + linear(attn, p + "self_attn.o_proj")
        x = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        h = h + linear(silu(linear(x, p + "mlp.gate_proj")) * linear(x, p + "mlp.up_proj"), p + "mlp.down_proj")
    h = rms_norm(h, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if c["tie_word_embeddings"] else W["lm_head.weight"]
    return h @ head.T


# ---------------------------------------------------------------- forward (loops, for checking)

def inv_frequencies_loop(c):
    """Per-frequency rule as written in Meta's llama3 reference (apply_scaling)."""
    D, theta = c["head_dim"], c["rope_theta"]
    rs = c.get("rope_scaling")
    out = []
    for i in range(D // 2):
        freq = theta ** (-2.0 * i / D)
        if rs:
            wavelen = 2 * math.pi / freq
            old = rs["original_max_position_embeddings"]
            if wavelen < old / rs["high_freq_factor"]:
                pass
            elif wavelen > old / rs["low_freq_factor"]:
                freq = freq / rs["factor"]
            else:
                s = (old / wavelen - rs["low_freq_factor"]) / (rs["high_freq_factor"] - rs["low_freq_factor"])
                freq = (1 - s) * freq / rs["factor"] + s * freq
        out.append(freq)
    return out


def forward_loop(c, weights, ids):
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    B, T = ids.shape
    NH, KV, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    eps = c["rms_norm_eps"]
    freqs = inv_frequencies_loop(c)

    def norm(vec, w):
        ms = sum(float(a) * float(a) for a in vec) / len(vec)
        return [float(vec[i]) / math.sqrt(ms + eps) * w[i] for i in range(len(vec))]

    def lin(vec, name):
        Wm, b = W[name + ".weight"], W.get(name + ".bias")
        return [sum(Wm[o, i] * vec[i] for i in range(len(vec))) + (b[o] if b is not None else 0.0)
                for o in range(Wm.shape[0])]

    def rope(vec, pos):  # complex view: z_i = x_i + j x_{i+D/2}, rotated by e^{j pos f_i}
        out = list(vec)
        for i in range(D // 2):
            z = complex(vec[i], vec[i + D // 2]) * complex(math.cos(pos * freqs[i]), math.sin(pos * freqs[i]))
            out[i], out[i + D // 2] = z.real, z.imag
        return out

    logits = np.zeros((B, T, c["vocab_size"]))
    for b in range(B):
        hs = [list(W["model.embed_tokens.weight"][ids[b, t]]) for t in range(T)]
        for l in range(c["num_hidden_layers"]):
            p = f"model.layers.{l}."
            xs = [norm(hs[t], W[p + "input_layernorm.weight"]) for t in range(T)]
            qs = [lin(x, p + "self_attn.q_proj") for x in xs]
            ks = [lin(x, p + "self_attn.k_proj") for x in xs]
            vs = [lin(x, p + "self_attn.v_proj") for x in xs]
            new_hs = []
            for t in range(T):
                attn = []
                for head in range(NH):
                    g = head * KV // NH  # kv head shared by this query head's group
                    qh = rope(qs[t][head * D:(head + 1) * D], t)
                    sc = [sum(a * bb for a, bb in zip(qh, rope(ks[s][g * D:(g + 1) * D], s))) / math.sqrt(D)
                          for s in range(t + 1)]
                    m = max(sc)
                    e = [math.exp(x - m) for x in sc]
                    z = sum(e)
                    attn += [sum(e[s] / z * vs[s][g * D + d] for s in range(t + 1)) for d in range(D)]
                o = lin(attn, p + "self_attn.o_proj")
                h1 = [hs[t][i] + o[i] for i in range(len(o))]
                x2 = norm(h1, W[p + "post_attention_layernorm.weight"])
                gate, up = lin(x2, p + "mlp.gate_proj"), lin(x2, p + "mlp.up_proj")
                act = [gg / (1 + math.exp(-gg)) * u for gg, u in zip(gate, up)]
                down = lin(act, p + "mlp.down_proj")
                new_hs.append([h1[i] + down[i] for i in range(len(h1))])
            hs = new_hs
        head_w = W["model.embed_tokens.weight"] if c["tie_word_embeddings"] else W["lm_head.weight"]
        for t in range(T):
            xf = norm(hs[t], W["model.norm.weight"])
            logits[b, t] = head_w @ np.array(xf)
    return logits


# ---------------------------------------------------------------- checks

def check(name, ok, detail):
    print(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}")
    if not ok:
        sys.exit(1)


def self_checks(c, weights, ids, logits):
    loop = forward_loop(c, weights, ids)
    err = np.abs(loop - logits).max()
    check("vectorised == loop implementation", err < 1e-10, f"max |diff| {err:.2e}")

    shifted = forward(c, weights, ids, position_offset=5)
    err = np.abs(shifted - logits).max()
    check("positions shifted by 5 give the same logits (RoPE is relative)", err < 1e-10, f"max |diff| {err:.2e}")

    changed = ids.copy()
    changed[:, 4] = (changed[:, 4] + 1) % c["vocab_size"]
    other = forward(c, weights, changed)
    before, after = np.abs(other[:, :4] - logits[:, :4]).max(), np.abs(other[:, 4:] - logits[:, 4:]).max()
    check("causal: token 4 changes only positions >= 4", before == 0.0 and after > 1e-3,
          f"max |diff| before {before:.1e}, from 4 on {after:.2e}")

    NH, KV, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    mha_c = dict(c, num_key_value_heads=NH)
    mha_w = dict(weights)
    for name in weights:
        if ".k_proj." in name or ".v_proj." in name:
            w = weights[name].reshape(KV, D, *weights[name].shape[1:])
            mha_w[name] = np.repeat(w, NH // KV, axis=0).reshape(NH * D, *weights[name].shape[1:])
    err = np.abs(forward(mha_c, mha_w, ids) - logits).max()
    check("GQA == MHA with each kv head repeated for its query group", err < 1e-10, f"max |diff| {err:.2e}")

    inv_a, inv_b = inv_frequencies(c), np.array(inv_frequencies_loop(c))
    check("inv_freq: vectorised HF rule == per-frequency rule", np.allclose(inv_a, inv_b, rtol=1e-14, atol=0),
          np.array2string(inv_a, precision=6))


# ---------------------------------------------------------------- main

def main():
    for name, spec in CONFIGS.items():
        c = spec["config"]
        print(f"{name}:")
        weights = random_weights(c, spec["seed"])
        rng = np.random.default_rng(spec["seed"] + 1)
        ids = rng.integers(0, c["vocab_size"], size=(BATCH, SEQ)).astype(np.int32)
        ids[0, 0], ids[1, -1] = 0, c["vocab_size"] - 1  # both ends of the embedding table
        logits = forward(c, weights, ids)
        self_checks(c, weights, ids, logits)

        bf16_weights = {k: round_to_bf16(v) for k, v in weights.items()}
        logits_bf16 = forward(c, bf16_weights, ids)
        dev = np.abs(logits_bf16 - logits).max()
        print(f"  logits range [{logits.min():.3f}, {logits.max():.3f}]; "
              f"bf16-rounded weights move them by at most {dev:.4f}")

        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(c, f, indent=2)
            f.write("\n")
        write_safetensors(os.path.join(out, "model.safetensors"), {k: ("F32", v) for k, v in weights.items()})
        write_safetensors(os.path.join(out, "reference.safetensors"), {
            "input_ids": ("I32", ids),
            "logits": ("F32", logits.astype(np.float32)),
            "logits_bf16_weights": ("F32", logits_bf16.astype(np.float32)),
        })


if __name__ == "__main__":
    main()
