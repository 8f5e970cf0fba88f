// RTN and NF4 group quantizers and the double quantization of NF4 absmax (formats in
// quantizer.h and docs/quantization.md).
#include "framework/quant/quantizer.h"

#include <algorithm>
#include <cmath>

#include "kernels/double_quant.h"

namespace qzo {

GroupQuant rtn_quantize_group(const float* w, int n, int bits, bool symmetric, uint8_t* codes) {
  const int qmax = (1 << bits) - 1;
  GroupQuant g;
  if (symmetric) {
    float absmax = 0;
    for (int i = 0; i < n; ++i) absmax = std::max(absmax, std::fabs(w[i]));
    g.zero_point = uint8_t(1 << (bits - 1));
    g.scale = std::max(absmax / float((1 << (bits - 1)) - 1), kScaleFloor);
  } else {
    float lo = 0, hi = 0;  // the range always holds 0
    for (int i = 0; i < n; ++i) {
      lo = std::min(lo, w[i]);
      hi = std::max(hi, w[i]);
    }
    g.scale = std::max((hi - lo) / float(qmax), kScaleFloor);
    g.zero_point = uint8_t(std::clamp(std::nearbyint(-lo / g.scale), 0.0f, float(qmax)));
  }
  for (int i = 0; i < n; ++i) codes[i] = rtn_code(w[i], g.scale, float(g.zero_point), bits);
  return g;
}

uint8_t rtn_code(float x, float scale, float zero_point, int bits) {
  const float q = std::nearbyint(x / scale) + zero_point;
  return uint8_t(std::clamp(q, 0.0f, float((1 << bits) - 1)));
}

uint8_t nf4_nearest(float x) {
  // Midpoints between neighbouring levels split the line into 16 cells; a distance check
  // against the neighbours settles values the rounded midpoints misplace.
  int code = 0;
  for (int k = 1; k < 16; ++k)
    if (x > 0.5f * (kNf4Codebook[k - 1] + kNf4Codebook[k])) code = k;
  const float d = std::fabs(x - kNf4Codebook[code]);
  if (code > 0 && std::fabs(x - kNf4Codebook[code - 1]) <= d) return uint8_t(code - 1);
  if (code < 15 && std::fabs(x - kNf4Codebook[code + 1]) < d) return uint8_t(code + 1);
  return uint8_t(code);
}

GroupQuant nf4_quantize_group(const float* w, int n, uint8_t* codes) {
  float absmax = 0;
  for (int i = 0; i < n; ++i) absmax = std::max(absmax, std::fabs(w[i]));
  GroupQuant g;
  g.scale = std::max(absmax, kScaleFloor);
  for (int i = 0; i < n; ++i) codes[i] = nf4_nearest(w[i] / g.scale);
  return g;
}

uint8_t dynamic_map_nearest(float x) {
  const float* map = kSignedDynamicMap.value;
  const float* above = std::upper_bound(map, map + 256, x);  // first entry > x
  if (above == map) return 0;
  if (above == map + 256) return 255;
  const long i = long(above - map);
  return uint8_t(std::fabs(x - map[i - 1]) <= std::fabs(x - map[i]) ? i - 1 : i);
}

float DoubleQuantizedAbsmax::absmax(size_t j) const {
  return double_quant_absmax(kSignedDynamicMap.value[codes[j]], absmax2[j / kDoubleQuantBlock], offset);
}

DoubleQuantizedAbsmax double_quantize_absmax(const std::vector<float>& absmax) {
  DoubleQuantizedAbsmax q;
  // Summed in double, then rounded once: an fp32 running sum would drift with the layer's size.
  double sum = 0;
  for (float a : absmax) sum += a;
  q.offset = float(sum / double(absmax.size()));
  q.codes.resize(absmax.size());
  for (size_t b0 = 0; b0 < absmax.size(); b0 += kDoubleQuantBlock) {
    const size_t b1 = std::min(absmax.size(), b0 + kDoubleQuantBlock);
    float absmax2 = 0;
    for (size_t j = b0; j < b1; ++j) absmax2 = std::max(absmax2, std::fabs(absmax[j] - q.offset));
    // A block whose absmax all equal the mean codes them as 0 and decodes them as the mean.
    absmax2 = std::max(absmax2, kScaleFloor);
    q.absmax2.push_back(absmax2);
    for (size_t j = b0; j < b1; ++j) q.codes[j] = dynamic_map_nearest((absmax[j] - q.offset) / absmax2);
  }
  return q;
}

}  // namespace qzo
