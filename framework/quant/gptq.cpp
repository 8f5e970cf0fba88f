// GPTQ on one layer (algorithm in gptq.h). Rows are independent given the Hessian, so each
// row runs the whole column sweep on its own thread: the result does not depend on the
// thread count. The factorizations run in double.
#include "framework/quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "framework/core/error.h"
#include "framework/quant/quantizer.h"
#include "kernels/packing.h"

namespace qzo {

namespace {

// In-place lower Cholesky factor of the n×n symmetric matrix A (row-major; the upper
// triangle is zeroed). False when A is not positive definite. Serial: n³/3 flops are
// milliseconds at these sizes, and a parallel region per column spins far longer.
bool cholesky_lower(std::vector<double>& A, int n) {
  for (int j = 0; j < n; ++j) {
    double* Aj = A.data() + size_t(j) * n;
    double d = Aj[j];
    for (int k = 0; k < j; ++k) d -= Aj[k] * Aj[k];
    if (!(d > 0) || !std::isfinite(d)) return false;
    d = std::sqrt(d);
    Aj[j] = d;
    for (int i = j + 1; i < n; ++i) {
      double* Ai = A.data() + size_t(i) * n;
      double s = Ai[j];
      for (int k = 0; k < j; ++k) s -= Ai[k] * Aj[k];
      Ai[j] = s / d;
    }
    for (int k = j + 1; k < n; ++k) Aj[k] = 0;
  }
  return true;
}

// H⁻¹ = L⁻ᵀ L⁻¹ from H's lower Cholesky factor L.
std::vector<double> inverse_from_cholesky(const std::vector<double>& L, int n) {
  std::vector<double> Linv(size_t(n) * n, 0.0);  // lower triangular
#pragma omp parallel for schedule(dynamic, 8) if (n >= 256)
  for (int j = 0; j < n; ++j) {  // column j of L⁻¹: forward substitution of L x = e_j
    Linv[size_t(j) * n + j] = 1.0 / L[size_t(j) * n + j];
    for (int i = j + 1; i < n; ++i) {
      double s = 0;
      for (int k = j; k < i; ++k) s -= L[size_t(i) * n + k] * Linv[size_t(k) * n + j];
      Linv[size_t(i) * n + j] = s / L[size_t(i) * n + i];
    }
  }
  std::vector<double> inv(size_t(n) * n);
#pragma omp parallel for schedule(dynamic, 8) if (n >= 256)
  for (int i = 0; i < n; ++i)
    for (int k = 0; k <= i; ++k) {
      double s = 0;
      for (int m = i; m < n; ++m) s += Linv[size_t(m) * n + i] * Linv[size_t(m) * n + k];
      inv[size_t(i) * n + k] = inv[size_t(k) * n + i] = s;
    }
  return inv;
}

// The upper Cholesky factor U of H⁻¹ (H⁻¹ = Uᵀ U), H dampened until it factors.
std::vector<double> inverse_hessian_factor(std::vector<double> H, int n, double damp, const std::string& name) {
  double mean_diag = 0;
  for (int i = 0; i < n; ++i) mean_diag += H[size_t(i) * n + i];
  mean_diag /= n;
  for (int attempt = 0; attempt < 4; ++attempt, damp *= 10) {
    std::vector<double> L = H;
    for (int i = 0; i < n; ++i) L[size_t(i) * n + i] += damp * mean_diag;
    if (!cholesky_lower(L, n)) continue;
    std::vector<double> U = inverse_from_cholesky(L, n);
    if (!cholesky_lower(U, n)) continue;
    for (int i = 0; i < n; ++i)  // transpose the lower factor of H⁻¹ in place
      for (int j = i + 1; j < n; ++j) std::swap(U[size_t(i) * n + j], U[size_t(j) * n + i]);
    return U;
  }
  fail(name + ": the calibration Hessian is not positive definite even with dampening " + std::to_string(damp / 10) +
       " (more calibration samples, or a larger quant.damp)");
}

// Columns per lazy batch: a multiple of the group size, so that a group's grid is taken
// from columns that have received every earlier column's error.
int block_columns(int group_size) {
  return group_size >= kGptqBlock ? group_size : kGptqBlock / group_size * group_size;
}

struct RowResult {
  std::vector<uint8_t> codes;  // in visiting order
  std::vector<float> scales;
  std::vector<uint8_t> zero_points;
};

// One row's sweep over its columns (already in visiting order) with U = chol(H⁻¹)ᵀ.
void quantize_row(std::vector<double>& w, const std::vector<double>& U, const QuantSpec& spec, RowResult& out) {
  const int n = int(w.size()), g = spec.group_size, B = block_columns(g);
  std::vector<double> err(static_cast<size_t>(B));
  std::vector<float> group(static_cast<size_t>(g));
  std::vector<uint8_t> scratch(static_cast<size_t>(g));
  float scale = 0, zero = 0;
  for (int i1 = 0; i1 < n; i1 += B) {
    const int i2 = std::min(n, i1 + B);
    for (int i = i1; i < i2; ++i) {
      if (i % g == 0) {
        for (int c = 0; c < g; ++c) group[size_t(c)] = float(w[size_t(i + c)]);
        const GroupQuant q = rtn_quantize_group(group.data(), g, spec.bits, spec.symmetric, scratch.data());
        scale = q.scale;
        zero = float(q.zero_point);
        out.scales.push_back(q.scale);
        out.zero_points.push_back(q.zero_point);
      }
      const uint8_t code = rtn_code(float(w[size_t(i)]), scale, zero, spec.bits);
      out.codes[size_t(i)] = code;
      const double e = (w[size_t(i)] - double(scale * (float(code) - zero))) / U[size_t(i) * n + i];
      err[size_t(i - i1)] = e;
      const double* Ui = U.data() + size_t(i) * n;
      for (int j = i + 1; j < i2; ++j) w[size_t(j)] -= e * Ui[j];
    }
    for (int i = i1; i < i2; ++i) {  // the lazy update of every later block
      const double e = err[size_t(i - i1)];
      const double* Ui = U.data() + size_t(i) * n;
      for (int j = i2; j < n; ++j) w[size_t(j)] -= e * Ui[j];
    }
  }
}

// Visiting order: by decreasing H_cc for desc_act (ties by column), else left to right.
std::vector<int> visiting_order(const std::vector<double>& H, int n, bool desc_act) {
  std::vector<int> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  if (desc_act)
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int a, int b) { return H[size_t(a) * n + a] > H[size_t(b) * n + b]; });
  return perm;
}

}  // namespace

QuantizedParts gptq_quantize(const float* W, int out_features, int in_features, const std::vector<double>& hessian,
                             const QuantSpec& spec, const std::string& name) {
  const int n = in_features, g = spec.group_size, groups = n / g;
  if (hessian.size() != size_t(n) * size_t(n))
    fail(name + ": GPTQ needs a [" + std::to_string(n) + ", " + std::to_string(n) + "] Hessian, got " +
         std::to_string(hessian.size()) + " values");
  std::vector<double> H = hessian;
  std::vector<bool> dead(size_t(n), false);
  for (int c = 0; c < n; ++c)
    if (H[size_t(c) * n + c] == 0) {
      dead[size_t(c)] = true;
      H[size_t(c) * n + c] = 1;
    }
  const std::vector<int> perm = visiting_order(H, n, spec.desc_act);
  std::vector<double> Hp(size_t(n) * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) Hp[size_t(i) * n + j] = H[size_t(perm[i]) * n + perm[j]];
  const std::vector<double> U = inverse_hessian_factor(std::move(Hp), n, spec.damp, name);

  QuantizedParts parts;
  const size_t row_bytes = packed_bytes(size_t(n), spec.bits);
  parts.packed_codes.assign(size_t(out_features) * row_bytes, 0);
  parts.scales.resize(size_t(out_features) * groups);
  parts.zero_points.resize(parts.scales.size());
#pragma omp parallel
  {
    std::vector<double> w(static_cast<size_t>(n));
    std::vector<uint8_t> codes(static_cast<size_t>(n));
    RowResult row;
#pragma omp for schedule(dynamic, 4)
    for (int r = 0; r < out_features; ++r) {
      for (int i = 0; i < n; ++i) w[size_t(i)] = dead[size_t(perm[i])] ? 0.0 : double(W[size_t(r) * n + perm[i]]);
      row.codes.assign(size_t(n), 0);
      row.scales.clear();
      row.zero_points.clear();
      quantize_row(w, U, spec, row);
      for (int i = 0; i < n; ++i) codes[size_t(perm[i])] = row.codes[size_t(i)];
      pack_codes(codes.data(), size_t(n), spec.bits, parts.packed_codes.data() + size_t(r) * row_bytes);
      std::copy(row.scales.begin(), row.scales.end(), parts.scales.begin() + size_t(r) * groups);
      std::copy(row.zero_points.begin(), row.zero_points.end(), parts.zero_points.begin() + size_t(r) * groups);
    }
  }
  if (spec.desc_act) {
    parts.g_idx.resize(size_t(n));
    for (int i = 0; i < n; ++i) parts.g_idx[size_t(perm[i])] = i / g;
  }
  return parts;
}

double layer_output_error(const float* W, const float* W_hat, int out_features, int in_features,
                          const std::vector<double>& hessian) {
  const int n = in_features;
  double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
  for (int r = 0; r < out_features; ++r) {
    std::vector<double> d(static_cast<size_t>(n));
    for (int c = 0; c < n; ++c) d[size_t(c)] = double(W[size_t(r) * n + c]) - double(W_hat[size_t(r) * n + c]);
    double row = 0;
    for (int i = 0; i < n; ++i) {
      double s = 0;
      for (int j = 0; j < n; ++j) s += hessian[size_t(i) * n + j] * d[size_t(j)];
      row += d[size_t(i)] * s;
    }
    total += row / 2;
  }
  return total;
}

}  // namespace qzo
