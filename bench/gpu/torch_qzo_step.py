#!/usr/bin/env python3
"""The PyTorch reference for bench_gpu: a paper-style QZO step at Llama-2 7B / 13B shapes.

HF transformers' LlamaForCausalLM (bf16, sdpa attention) with every decoder linear replaced by
an int4 layer: two codes per uint8 byte, per-group (g=128) uint8 zero points and fp32 scales,
dequantized W = S * (Q - Z) into a bf16 weight at every forward. One QZO step as in the MeZO /
QZO reference code: perturb the scales in place by +eps*z, forward, -2*eps*z, forward, +eps*z
(z regenerated per layer from a torch.Generator seed, never stored), projected gradient
d = (L+ - L-) / (2 eps), then S <- max(S - lr*d*z, floor). Random codes and scales.

Prints rows in bench_gpu's markdown format (same columns; '-' where torch has no split).
  python3 bench/gpu/torch_qzo_step.py [--models 7b,13b] [--batch 16] [--seq 256] [--reps 5] [--no-header]
"""
import argparse
import datetime
import gc
import math
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = {  # hidden, layers, heads, intermediate
    "7b": (4096, 32, 32, 11008),
    "13b": (5120, 40, 40, 13824),
}
GROUP = 128
LINEARS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


class Int4Linear(torch.nn.Module):
    """y = x W^T with W = S * (Q - Z) dequantized to bf16 at every call."""

    def __init__(self, out_features, in_features, gen):
        super().__init__()
        groups = in_features // GROUP
        self.out_features, self.in_features = out_features, in_features
        # Two 4-bit codes per byte: even input index in the low nibble.
        self.register_buffer("packed", torch.randint(0, 256, (out_features, in_features // 2), dtype=torch.uint8,
                                                     device="cuda", generator=gen))
        self.register_buffer("zeros", torch.randint(7, 9, (out_features, groups), dtype=torch.uint8,
                                                    device="cuda", generator=gen))
        self.register_buffer("scales", torch.empty(out_features, groups, dtype=torch.float32,
                                                   device="cuda").uniform_(0.005, 0.009, generator=gen))

    def weight(self):
        codes = torch.stack((self.packed & 15, self.packed >> 4), dim=-1)  # [out, in/2, 2]
        codes = codes.view(self.out_features, -1, GROUP).float()           # [out, groups, g]
        w = (codes - self.zeros.unsqueeze(-1).float()) * self.scales.unsqueeze(-1)
        return w.view(self.out_features, self.in_features).to(torch.bfloat16)

    def forward(self, x):
        return F.linear(x, self.weight())


def build_model(shape):
    hidden, layers, heads, intermediate = SHAPES[shape]
    config = LlamaConfig(vocab_size=32000, hidden_size=hidden, intermediate_size=intermediate,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=4096, rms_norm_eps=1e-5, tie_word_embeddings=False)
    config._attn_implementation = "sdpa"  # torch's fused attention, as transformers defaults to
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)  # never an fp32 copy of the model
    try:
        with torch.device("cuda"):
            model = LlamaForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    gen = torch.Generator(device="cuda")
    gen.manual_seed(7)
    qlinears = []
    for layer in model.model.layers:
        for path in LINEARS:
            parent_name, child = path.split(".")
            parent = getattr(layer, parent_name)
            dense = getattr(parent, child)
            q = Int4Linear(dense.out_features, dense.in_features, gen)
            setattr(parent, child, q)  # the bf16 weight is freed here
            qlinears.append(q)
    with torch.no_grad():  # the dense rest: embeddings, head (std 0.02), norms (1)
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.fill_(1.0)
            else:
                p.uniform_(-0.02 * math.sqrt(3), 0.02 * math.sqrt(3), generator=gen)
    gc.collect()
    torch.cuda.empty_cache()
    return model, qlinears


def z_of(gen, seed, layer, m):
    gen.manual_seed((seed * 1000003 + layer) % (2**63))
    return torch.randn(m.scales.shape, generator=gen, device="cuda", dtype=torch.float32)


def perturb(qlinears, gen, seed, alpha):
    for i, m in enumerate(qlinears):
        m.scales.add_(z_of(gen, seed, i, m), alpha=alpha)


def qzo_step(model, qlinears, gen, ids, step, eps=1e-3, lr=1e-6, floor=1e-7):
    seed = 1 * 1000033 + step
    perturb(qlinears, gen, seed, +eps)
    loss_plus = model(input_ids=ids, labels=ids).loss.item()
    perturb(qlinears, gen, seed, -2 * eps)
    loss_minus = model(input_ids=ids, labels=ids).loss.item()
    perturb(qlinears, gen, seed, +eps)
    d = (loss_plus - loss_minus) / (2 * eps)
    for i, m in enumerate(qlinears):
        m.scales.add_(z_of(gen, seed, i, m), alpha=-lr * d).clamp_(min=floor)
    return loss_plus, loss_minus, d


def forward_flops(shape, B, T):
    """bench_gpu's count: 2 per MAC of every linear on every token, the head on B*T rows,
    attention QK^T and PV in full (4 B T^2 D per layer)."""
    hidden, layers, heads, intermediate = SHAPES[shape]
    per_layer = 4 * hidden * hidden + 3 * hidden * intermediate
    return 2 * B * T * per_layer * layers + 2 * B * T * hidden * 32000 + 4 * B * T * T * hidden * layers


def timed(f):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    f()
    torch.cuda.synchronize()
    return time.perf_counter() - t0


def bf16_peak_tflops(n=8192, reps=20):
    a = torch.rand(n, n, device="cuda", dtype=torch.bfloat16) * 2 - 1
    b = torch.rand(n, n, device="cuda", dtype=torch.bfloat16) * 2 - 1
    for _ in range(3):
        torch.matmul(a, b)
    times = []
    for _ in range(reps):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.matmul(a, b)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1e-3)
    del a, b
    torch.cuda.empty_cache()
    return 2 * n**3 / statistics.median(times) / 1e12


def bench(shape, B, T, reps, peak):
    t_build = time.perf_counter()
    model, qlinears = build_model(shape)
    torch.cuda.synchronize()
    build_s = time.perf_counter() - t_build
    gen = torch.Generator(device="cuda")
    ids = torch.randint(0, 32000, (B, T), device="cuda", generator=gen.manual_seed(11))
    scales_bytes = sum(m.scales.numel() * 4 for m in qlinears)
    weight_bytes = sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
    weight_bytes -= scales_bytes
    torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        forward = lambda: model(input_ids=ids, labels=ids).loss.item()
        step_counter = [0]

        def step():
            qzo_step(model, qlinears, gen, ids, step_counter[0])
            step_counter[0] += 1

        loss = forward()
        step()
        peak_run = torch.cuda.max_memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fwd, zs, ratio = [], [], []
        for _ in range(reps):
            fwd.append(timed(forward))
            zs.append(timed(step))
            ratio.append(zs[-1] / fwd[-1])
        peak_steady = torch.cuda.max_memory_allocated()
    peak_run = max(peak_run, peak_steady)
    free, total = torch.cuda.mem_get_info()
    f, s = statistics.median(fwd), statistics.median(zs)
    tflops = forward_flops(shape, B, T) / f / 1e12
    impl = (f"torch qzo int4 g{GROUP} (transformers {transformers.__version__}, "
            f"{getattr(model.config, '_attn_implementation', '?')})")
    gb = lambda n: n / 1e9
    print(f"| llama-2-{shape} | {impl} | {B}x{T} | {f * 1e3:.1f} | {s * 1e3:.1f} | {statistics.median(ratio):.2f} | "
          f"{tflops:.1f} | {100 * tflops / peak:.1f}% | {B * T / s:.0f} | {gb(weight_bytes):.2f} | "
          f"{gb(scales_bytes):.3f} | - | - | {gb(peak_run):.2f} | {gb(peak_steady):.2f} | {gb(total - free):.2f} |")
    print(f"notes llama-2-{shape} torch: built in {build_s:.1f} s; loss {loss:.4f}; labels=input_ids "
          f"({B * (T - 1)} labelled); peak/steady GB: torch.cuda.max_memory_allocated since the model was built / "
          f"over the timed pairs; median of {reps} (forward, step) pairs", flush=True)
    del model, qlinears
    gc.collect()
    torch.cuda.empty_cache()


def driver_version():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        return out.stdout.strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - informational only
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="7b,13b")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-header", action="store_true")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("torch_qzo_step.py: no CUDA device")
    shapes = [s for s in args.models.split(",") if s]
    for s in shapes:
        if s not in SHAPES:
            sys.exit(f"torch_qzo_step.py: --models: '{s}' is not one of {', '.join(SHAPES)}")
    peak = bf16_peak_tflops()
    if not args.no_header:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"# torch_qzo_step | {torch.cuda.get_device_name()} | driver {driver_version()} "
              f"(torch {torch.__version__}, CUDA {torch.version.cuda}) | {now}")
        print("| model | impl | batch | fwd ms | step ms | step/fwd | fwd TFLOP/s | MFU | step tok/s | weights GB | "
              "trainable GB | activations GB | workspace GB | peak GB | steady GB | device GB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"peak torch: {peak:.1f} TFLOP/s (torch.matmul bf16 8192^3, median of 20, measured in this run)", flush=True)
    for s in shapes:
        bench(s, args.batch, args.seq, args.reps, peak)


if __name__ == "__main__":
    main()
