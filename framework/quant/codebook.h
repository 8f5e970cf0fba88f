// A non-uniform codebook quantizer in the manner of SqueezeLLM (Kim et al., 2024): every
// output channel gets its own 2^bits levels from a weighted 1-D k-means over the channel's
// weights, each weight counting by the sensitivity of its input (the calibration Hessian's
// diagonal, the mean of x_c² up to a factor). The levels are stored divided by one per-channel
// scale s_r = max |level|, and w = s_r · C_r[q] dequantizes: s_r is what QZO trains, the
// levels C_r in [-1, 1] stay frozen like the codes.
#pragma once
#include <vector>

#include "framework/quant/quantized_linear.h"

namespace qzo {

// Lloyd iterations of the k-means; it stops earlier once no assignment changes.
constexpr int kCodebookIterations = 50;

// W: [out, in] row-major; hessian: [in, in] (only its diagonal is read). Per row: levels
// start at the weighted quantiles (k + ½)/2^bits, Lloyd's algorithm on the sorted values
// moves them (an empty level keeps its place), the scale is max |level| (at least
// kScaleFloor), and each weight's code is the level nearest to it once scaled back.
QuantizedParts codebook_quantize(const float* W, int out_features, int in_features,
                                 const std::vector<double>& hessian, int bits);

}  // namespace qzo
