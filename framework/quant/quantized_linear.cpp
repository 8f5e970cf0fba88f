// Building a QuantizedLinear (quantizing an fp32 weight row by row, or adopting stored parts),
// its buffers on the backend, and its dequantization through the ops.
#include "framework/quant/quantized_linear.h"

#include <vector>

#include "framework/core/error.h"
#include "framework/quant/quantizer.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/ops.h"
#include "kernels/packing.h"

namespace qzo {

QuantizedLinear QuantizedLinear::shaped(int out_features, int in_features, const QuantSpec& spec,
                                        const std::string& name, Backend& backend) {
  if (out_features <= 0 || in_features <= 0)
    fail(name + ": invalid quantized shape [" + std::to_string(out_features) + ", " +
         std::to_string(in_features) + "]");
  QuantizedLinear L;
  L.backend_ = &backend;
  L.out_features_ = out_features;
  L.in_features_ = in_features;
  L.spec_ = spec;
  L.spec_.group_size = spec.resolved_group_size(in_features, name);
  L.row_bytes_ = packed_bytes(size_t(in_features), spec.bits);
  return L;
}

QuantizedLinear QuantizedLinear::quantize(const float* W, int out_features, int in_features,
                                          const QuantSpec& spec, const std::string& name, Backend& backend) {
  const QuantizedLinear shape = shaped(out_features, in_features, spec, name, backend);
  const int g = shape.spec_.group_size, groups = in_features / g;
  const size_t row_bytes = shape.row_bytes_;
  std::vector<uint8_t> packed_codes(size_t(out_features) * row_bytes, 0);
  std::vector<float> scales(size_t(out_features) * size_t(groups), 0.0f);
  const bool nf4 = spec.method == QuantMethod::Nf4;
  std::vector<uint8_t> zero_points(nf4 ? 0 : scales.size(), 0);

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
        scales[j] = q.scale;
        if (!nf4) zero_points[j] = q.zero_point;
      }
      pack_codes(codes.data(), size_t(in_features), spec.bits, packed_codes.data() + size_t(r) * row_bytes);
    }
  }
  return from_parts(out_features, in_features, spec, packed_codes, zero_points, scales, name, backend);
}

QuantizedLinear QuantizedLinear::from_parts(int out_features, int in_features,
                                             const QuantSpec& spec,
                                             const std::vector<uint8_t>& packed_codes,
                                             const std::vector<uint8_t>& zero_points,
                                             const std::vector<float>& scales, const std::string& name,
                                             Backend& backend) {
  QuantizedLinear L = shaped(out_features, in_features, spec, name, backend);
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
  L.packed_codes_ = upload_buffer(backend, packed_codes.data(), packed_codes.size(), MemoryComponent::Weights);
  L.zero_points_ = upload_buffer(backend, zero_points.data(), zero_points.size(), MemoryComponent::Weights);
  L.scales_ = upload_buffer(backend, scales.data(), scales.size() * sizeof(float), MemoryComponent::Trainable);
  return L;
}

QuantizedWeightView QuantizedLinear::view() const {
  QuantizedWeightView v;
  v.out_features = out_features_;
  v.in_features = in_features_;
  v.group_size = spec_.group_size;
  v.bits = spec_.bits;
  v.format = spec_.method == QuantMethod::Nf4 ? CodeFormat::Nf4 : CodeFormat::Scalar;
  v.row_bytes = row_bytes_;
  v.packed_codes = packed_codes_.as<uint8_t>();
  v.zero_points = zero_points_.empty() ? nullptr : zero_points_.as<uint8_t>();
  v.scales = scales_.as<float>();
  return v;
}

std::vector<uint8_t> QuantizedLinear::packed_codes() const { return download_bytes(*backend_, packed_codes_); }
std::vector<uint8_t> QuantizedLinear::zero_points() const { return download_bytes(*backend_, zero_points_); }
std::vector<float> QuantizedLinear::scales() const {
  return download_vector(*backend_, scales_.as<float>(), num_scales());
}

void QuantizedLinear::set_scales(const std::vector<float>& scales) {
  if (scales.size() != num_scales())
    fail("quantized layer: " + std::to_string(scales.size()) + " scales given, expected " +
         std::to_string(num_scales()));
  backend_->upload(scales_.data(), scales.data(), scales.size() * sizeof(float));
}

uint8_t QuantizedLinear::code(int row, int col) const {
  const size_t bit = size_t(col) * size_t(spec_.bits);
  const size_t at = size_t(row) * row_bytes_ + bit / 8;
  uint8_t p[2] = {0, 0};
  backend_->download(p, packed_codes_.as<uint8_t>() + at, at + 1 < packed_codes_.bytes() ? 2 : 1);
  uint32_t w = p[0];
  if (bit % 8 + size_t(spec_.bits) > 8) w |= uint32_t(p[1]) << 8;
  return uint8_t((w >> (bit % 8)) & ((1u << spec_.bits) - 1u));
}

size_t QuantizedLinear::storage_bytes() const {
  return packed_codes_.bytes() + zero_points_.bytes() + scales_.bytes();
}

void QuantizedLinear::dequantize(float* W_out) const { ops::dequantize(*backend_, W_out, view(), nullptr); }

void QuantizedLinear::dequantize_perturbed(float* W_out, const float* scale_offsets) const {
  if (!backend_->is_host()) fail("quantized layer: buffered scale offsets are a CPU-backend test path");
  cpu::dequantize_with_offsets(W_out, view(), scale_offsets);
}

void QuantizedLinear::dequantize_perturbed(float* W_out, uint64_t seed, uint32_t stream, float signed_eps) const {
  const ZoPerturbation p{seed, stream, signed_eps};
  ops::dequantize(*backend_, W_out, view(), &p);
}

}  // namespace qzo
