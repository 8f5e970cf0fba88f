// Speed of QZO's hot path on the CPU: Philox Gaussian draws, dequantization of a quantized
// linear layer (plain, perturbed from an offset buffer, perturbed with z drawn on the fly),
// and the scale update. Prints one table; ns per element, and GB/s of bytes moved.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/philox.h"
#include "framework/quant/quantized_linear.h"
#include "framework/quant/quantizer.h"
#include "kernels/cpu/cpu_ops.h"

namespace {

// Best of `reps` timed runs after one warm-up, in seconds.
double best_seconds(int reps, const std::function<void()>& f) {
  f();
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

void row(const std::string& what, const std::string& shape, int threads, double seconds,
         double elements, double bytes) {
  std::printf("| %-38s | %-11s | %7d | %9.3f | %8.3f | %7.2f |\n", what.c_str(), shape.c_str(),
              threads, seconds * 1e3, seconds * 1e9 / elements, bytes / seconds / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qzo;
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  const int max_threads = omp_get_max_threads();
  std::vector<int> thread_counts{1};
  if (max_threads > 1) thread_counts.push_back(max_threads);

  std::printf("| %-38s | %-11s | %7s | %9s | %8s | %7s |\n", "operation", "shape", "threads",
              "ms", "ns/elem", "GB/s");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(40, '-').c_str(), std::string(13, '-').c_str(),
              std::string(9, '-').c_str(), std::string(11, '-').c_str(), std::string(10, '-').c_str(),
              std::string(9, '-').c_str());

  // --- Gaussian draws ------------------------------------------------------------------
  for (int threads : thread_counts) {
    omp_set_num_threads(threads);
    for (size_t n : {size_t(32768), size_t(1) << 22}) {
      std::vector<float> z(n);
      const double s = best_seconds(reps, [&] { philox_normal_fill(1, 2, 0, n, z.data()); });
      row("philox_normal_fill", std::to_string(n), threads, s, double(n), 4.0 * n);
    }
  }
  {
    const size_t n = 1 << 16;
    std::vector<float> z(n);
    const double s = best_seconds(reps, [&] {
      for (size_t i = 0; i < n; ++i) z[i] = philox_normal(1, 2, i);
    });
    row("philox_normal (scalar loop)", std::to_string(n), 1, s, double(n), 4.0 * n);
  }

  // --- Dequantization --------------------------------------------------------------------
  struct Layer {
    const char* spec;
    int out, in;
  };
  const Layer layers[] = {
      {"rtn:bits=4,group_size=32", 1024, 1024}, {"rtn:bits=4,group_size=128", 1024, 1024},
      {"nf4:group_size=64", 1024, 1024},        {"rtn:bits=3,group_size=32", 1024, 1024},
      {"rtn:bits=2,group_size=32", 1024, 1024}, {"rtn:bits=8,group_size=32", 1024, 1024},
      {"rtn:bits=4,group_size=32", 4096, 4096},
      // Act-order reads each column's group through g_idx; the codebook reads per-row levels.
      {"gptq:bits=4,group_size=32,desc_act=true", 1024, 1024}, {"codebook:bits=3", 1024, 1024},
      {"codebook:bits=2", 1024, 1024},
  };
  std::mt19937 rng(0);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (const Layer& L : layers) {
    std::vector<float> W(size_t(L.out) * L.in);
    for (float& w : W) w = dist(rng);
    // Calibrated quantizers get a diagonal Hessian of uneven input scales: the speed of the
    // layout is measured here, not the quality of the calibration.
    LayerCalibration calibration{std::vector<double>(size_t(L.in) * L.in, 0.0)};
    for (int c = 0; c < L.in; ++c) calibration.hessian[size_t(c) * L.in + c] = 1.0 + (c * 7919) % 13;
    const QuantizedLinear q =
        QuantizedLinear::quantize(W.data(), L.out, L.in, QuantSpec::parse(L.spec), "bench", cpu_backend(), &calibration);
    std::vector<float> out(W.size()), offsets(q.num_scales());
    const std::string shape = std::to_string(L.out) + "x" + std::to_string(L.in);
    const double weights = double(W.size());
    // Bytes read (codes, zero points, scales) plus fp32 weights written.
    const double bytes = double(q.storage_bytes()) + 4.0 * weights;
    const std::string name = q.spec().to_string();
    for (int threads : thread_counts) {
      omp_set_num_threads(threads);
      const double plain = best_seconds(reps, [&] { q.dequantize(out.data()); });
      row("dequantize " + name, shape, threads, plain, weights, bytes);
      if (std::string(L.spec) != "rtn:bits=4,group_size=32") continue;
      const double buffered = best_seconds(reps, [&] {
        philox_normal_fill(7, 3, 0, offsets.size(), offsets.data());
        for (float& o : offsets) o = 1e-3f * o;
        q.dequantize_perturbed(out.data(), offsets.data());
      });
      row("  perturbed, z buffer + offsets", shape, threads, buffered, weights, bytes);
      const double fused = best_seconds(reps, [&] { q.dequantize_perturbed(out.data(), 7, 3, 1e-3f); });
      row("  perturbed, z fused (philox per row)", shape, threads, fused, weights, bytes);
      const double scaled = best_seconds(reps, [&] { q.dequantize_perturbed(out.data(), 7, 3, 0.05f, true); });
      row("  perturbed multiplicatively, S·exp(εz) fused", shape, threads, scaled, weights, bytes);
      std::vector<float> scales = q.scales();
      const double update = best_seconds(
          reps, [&] { qzo::cpu::scale_update(scales.data(), int64_t(scales.size()), 7, 3, 0.0f, kScaleFloor); });
      row("scale_update (per scale)", std::to_string(scales.size()), threads, update,
          double(scales.size()), 8.0 * scales.size());
      const double log_update = best_seconds(
          reps, [&] { qzo::cpu::scale_update_log(scales.data(), int64_t(scales.size()), 7, 3, 0.0f); });
      row("scale_update_log (per scale)", std::to_string(scales.size()), threads, log_update,
          double(scales.size()), 8.0 * scales.size());
    }
  }
  std::printf("\nOMP max threads %d; best of %d runs after a warm-up.\n", max_threads, reps);
  return 0;
}
