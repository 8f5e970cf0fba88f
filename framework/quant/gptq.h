// GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative
// Pre-trained Transformers", ICLR 2023) on one linear layer: columns are quantized one at a
// time on RTN's per-group grid, and each column's rounding error is spread over the columns
// not yet quantized through the inverse Hessian of the layer-wise squared error, so that
// ||W X − Ŵ X||² on the calibration inputs X grows less than under rounding alone.
#pragma once
#include <string>
#include <vector>

#include "framework/quant/quant_spec.h"
#include "framework/quant/quantized_linear.h"

namespace qzo {

// Columns updated together before the rest of the matrix sees their errors (the paper's
// "lazy batch" of 128): the same result as column by column, with fewer passes over W.
constexpr int kGptqBlock = 128;

// W: [out, in] row-major fp32; hessian: [in, in] row-major, H = 2/N · Σ x xᵀ. `spec` has its
// group size resolved. Steps, as in the paper (§4, Algorithm 1):
//  - a column the calibration never excited (H_cc = 0) gets H_cc = 1 and a zero weight;
//  - desc_act visits columns in order of decreasing H_cc, and records each column's group
//    (the order it was visited in, g columns at a time) in g_idx;
//  - dampening adds spec.damp · mean(diag H) to the diagonal (tenfold, up to three times,
//    when the matrix is still not positive definite);
//  - U = the upper Cholesky factor of H⁻¹; when a group starts, its scale and zero point
//    come from RTN's grid over the group's columns as updated so far (by every earlier
//    column: the lazy batch is a multiple of the group size; the reference code takes the
//    grid from W before the current block's updates, so it differs where g < 128);
//  - column i is rounded to q, and W[:, j] −= (w_i − q) / U_ii · U_ij for every later j.
// Throws naming `name` when H has the wrong size or stays indefinite.
QuantizedParts gptq_quantize(const float* W, int out_features, int in_features, const std::vector<double>& hessian,
                             const QuantSpec& spec, const std::string& name);

// Σ_rows (W − Ŵ) H (W − Ŵ)ᵀ / 2: the summed squared output error over the calibration rows
// divided by N (for H = 2/N Σ x xᵀ), which GPTQ minimizes. W_hat: the dequantized weight.
double layer_output_error(const float* W, const float* W_hat, int out_features, int in_features,
                          const std::vector<double>& hessian);

}  // namespace qzo
