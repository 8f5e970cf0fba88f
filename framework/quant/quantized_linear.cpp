// Building a QuantizedLinear: quantizing an fp32 weight row by row, or adopting stored parts.
#include "framework/quant/quantized_linear.h"

#include <vector>

#include "framework/core/error.h"
#include "framework/quant/packing.h"
#include "framework/quant/quantizer.h"

namespace qzo {

QuantizedLinear QuantizedLinear::shaped(int out_features, int in_features, const QuantSpec& spec,
                                        const std::string& name) {
  if (out_features <= 0 || in_features <= 0)
    fail(name + ": invalid quantized shape [" + std::to_string(out_features) + ", " +
         std::to_string(in_features) + "]");
  QuantizedLinear L;
  L.out_features_ = out_features;
  L.in_features_ = in_features;
  L.spec_ = spec;
  L.spec_.group_size = spec.resolved_group_size(in_features, name);
  L.row_bytes_ = packed_bytes(size_t(in_features), spec.bits);
  return L;
}

QuantizedLinear QuantizedLinear::quantize(const float* W, int out_features, int in_features,
                                          const QuantSpec& spec, const std::string& name) {
  QuantizedLinear L = shaped(out_features, in_features, spec, name);
  const int g = L.spec_.group_size, groups = in_features / g;
  L.packed_codes_.assign(size_t(out_features) * L.row_bytes_, 0);
  L.scales_.assign(size_t(out_features) * size_t(groups), 0.0f);
  const bool nf4 = spec.method == QuantMethod::Nf4;
  if (!nf4) L.zero_points_.assign(L.scales_.size(), 0);

#pragma omp parallel if (size_t(out_features) * size_t(in_features) >= (size_t(1) << 15))
  {
    std::vector<uint8_t> codes(static_cast<size_t>(in_features));
#pragma omp for schedule(static)
    for (int r = 0; r < out_features; ++r) {
      const float* w = W + size_t(r) * size_t(in_features);
      for (int k = 0; k < groups; ++k) {
        const size_t j = size_t(r) * size_t(groups) + size_t(k);
        const GroupQuant q =
            nf4 ? nf4_quantize_group(w + size_t(k) * g, g, codes.data() + size_t(k) * g)
                : rtn_quantize_group(w + size_t(k) * g, g, spec.bits, spec.symmetric,
                                     codes.data() + size_t(k) * g);
        L.scales_[j] = q.scale;
        if (!nf4) L.zero_points_[j] = q.zero_point;
      }
      pack_codes(codes.data(), size_t(in_features), spec.bits,
                 L.packed_codes_.data() + size_t(r) * L.row_bytes_);
    }
  }
  return L;
}

QuantizedLinear QuantizedLinear::from_parts(int out_features, int in_features,
                                             const QuantSpec& spec,
                                             std::vector<uint8_t> packed_codes,
                                             std::vector<uint8_t> zero_points,
                                             std::vector<float> scales, const std::string& name) {
  QuantizedLinear L = shaped(out_features, in_features, spec, name);
  const size_t n_scales = size_t(out_features) * size_t(L.groups_per_row());
  const size_t n_zero = spec.method == QuantMethod::Nf4 ? 0 : n_scales;
  auto expect = [&](const char* what, size_t got, size_t want) {
    if (got != want)
      fail(name + ": " + what + " has " + std::to_string(got) + " elements, expected " +
           std::to_string(want) + " for " + spec.to_string());
  };
  expect("packed codes", packed_codes.size(), size_t(out_features) * L.row_bytes_);
  expect("zero points", zero_points.size(), n_zero);
  expect("scales", scales.size(), n_scales);
  for (size_t j = 0; j < zero_points.size(); ++j)
    if (zero_points[j] >= (1u << spec.bits))
      fail(name + ": zero point " + std::to_string(zero_points[j]) + " at group " +
           std::to_string(j) + " does not fit in " + std::to_string(spec.bits) + " bits");
  L.packed_codes_ = std::move(packed_codes);
  L.zero_points_ = std::move(zero_points);
  L.scales_ = std::move(scales);
  return L;
}

uint8_t QuantizedLinear::code(int row, int col) const {
  const size_t bit = size_t(col) * size_t(spec_.bits);
  const uint8_t* p = packed_codes_.data() + size_t(row) * row_bytes_ + bit / 8;
  uint32_t w = p[0];
  if (bit % 8 + size_t(spec_.bits) > 8) w |= uint32_t(p[1]) << 8;
  return uint8_t((w >> (bit % 8)) & ((1u << spec_.bits) - 1u));
}

size_t QuantizedLinear::storage_bytes() const {
  return packed_codes_.size() + zero_points_.size() + scales_.size() * sizeof(float);
}

}  // namespace qzo
