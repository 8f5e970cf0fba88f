// Building a QuantizedLinear (quantizing an fp32 weight row by row, or adopting stored parts),
// its buffers on the backend, and its dequantization through the ops.
#include "framework/quant/quantized_linear.h"

#include <cmath>
#include <vector>

#include "framework/core/error.h"
#include "framework/quant/codebook.h"
#include "framework/quant/gptq.h"
#include "framework/quant/quantizer.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/double_quant.h"
#include "kernels/ops.h"
#include "kernels/packing.h"

namespace qzo {

namespace {

// bitsandbytes packs the double-quantized base's first code of two in the high nibble.
NibbleOrder nibble_order_of(const QuantSpec& spec) {
  return spec.double_quant ? NibbleOrder::HighFirst : NibbleOrder::LowFirst;
}

void expect_size(const std::string& name, const QuantSpec& spec, const char* what, size_t got, size_t want) {
  if (got != want)
    fail(name + ": " + what + " has " + std::to_string(got) + " elements, expected " + std::to_string(want) +
         " for " + spec.to_string());
}

[[noreturn]] void fail_frozen_base(const char* what) {
  fail(std::string("quantized layer: ") + what +
       ": a double-quantized NF4 layer has no fp32 scales (QZO trains fp32 scales; double quantization is "
       "for a frozen base)");
}

}  // namespace

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

namespace {

// RTN or NF4, group by group: each row needs nothing but its own weights.
QuantizedParts quantize_groups(const float* W, int out_features, int in_features, const QuantSpec& spec,
                               size_t row_bytes) {
  const int g = spec.group_size, groups = in_features / g;
  const bool nf4 = spec.method == QuantMethod::Nf4;
  QuantizedParts parts;
  parts.packed_codes.assign(size_t(out_features) * row_bytes, 0);
  parts.scales.assign(size_t(out_features) * size_t(groups), 0.0f);
  parts.zero_points.assign(nf4 ? 0 : parts.scales.size(), 0);
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
        parts.scales[j] = q.scale;
        if (!nf4) parts.zero_points[j] = q.zero_point;
      }
      pack_codes(codes.data(), size_t(in_features), spec.bits, parts.packed_codes.data() + size_t(r) * row_bytes,
                 nibble_order_of(spec));
    }
  }
  return parts;
}

}  // namespace

QuantizedLinear QuantizedLinear::quantize(const float* W, int out_features, int in_features,
                                          const QuantSpec& spec, const std::string& name, Backend& backend,
                                          const LayerCalibration* calibration) {
  const QuantizedLinear shape = shaped(out_features, in_features, spec, name, backend);
  const QuantSpec& resolved = shape.spec_;
  if (spec.calibrated()) {
    if (!calibration || calibration->hessian.size() != size_t(in_features) * size_t(in_features))
      fail(name + ": " + quant_method_name(spec.method) + " needs calibration inputs (a [" +
           std::to_string(in_features) + ", " + std::to_string(in_features) + "] Hessian)");
    const QuantizedParts parts =
        spec.method == QuantMethod::Gptq
            ? gptq_quantize(W, out_features, in_features, calibration->hessian, resolved, name)
            : codebook_quantize(W, out_features, in_features, calibration->hessian, resolved.bits);
    return from_parts(out_features, in_features, spec, parts, name, backend);
  }
  QuantizedParts parts = quantize_groups(W, out_features, in_features, resolved, shape.row_bytes_);
  if (spec.double_quant)
    return from_double_quant_parts(out_features, in_features, spec, parts.packed_codes,
                                   double_quantize_absmax(parts.scales), name, backend);
  return from_parts(out_features, in_features, spec, parts, name, backend);
}

QuantizedLinear QuantizedLinear::from_parts(int out_features, int in_features, const QuantSpec& spec,
                                             const std::vector<uint8_t>& packed_codes,
                                             const std::vector<uint8_t>& zero_points,
                                             const std::vector<float>& scales, const std::string& name,
                                             Backend& backend) {
  return from_parts(out_features, in_features, spec, QuantizedParts{packed_codes, zero_points, scales, {}, {}}, name,
                    backend);
}

namespace {

void check_zero_points(const std::string& name, const QuantSpec& spec, const std::vector<uint8_t>& zero_points) {
  for (size_t j = 0; j < zero_points.size(); ++j)
    if (zero_points[j] >= (1u << spec.bits))
      fail(name + ": zero point " + std::to_string(zero_points[j]) + " at group " +
           std::to_string(j) + " does not fit in " + std::to_string(spec.bits) + " bits");
}

void check_g_idx(const std::string& name, const std::vector<int32_t>& g_idx, int groups) {
  for (size_t c = 0; c < g_idx.size(); ++c)
    if (g_idx[c] < 0 || g_idx[c] >= groups)
      fail(name + ": g_idx[" + std::to_string(c) + "] = " + std::to_string(g_idx[c]) + " is outside [0, " +
           std::to_string(groups) + ")");
}

void check_codebooks(const std::string& name, const std::vector<float>& levels) {
  for (size_t i = 0; i < levels.size(); ++i)
    if (!std::isfinite(levels[i]))
      fail(name + ": codebook level " + std::to_string(i) + " is not a finite number");
}

}  // namespace

QuantizedLinear QuantizedLinear::from_parts(int out_features, int in_features, const QuantSpec& spec,
                                             const QuantizedParts& parts, const std::string& name,
                                             Backend& backend) {
  if (spec.double_quant)
    fail(name + ": " + spec.to_string() + " has no fp32 scales (adopt it with from_double_quant_parts)");
  QuantizedLinear L = shaped(out_features, in_features, spec, name, backend);
  const size_t n_scales = size_t(out_features) * size_t(L.groups_per_row());
  const size_t n_zero = spec.scalar_codes() ? n_scales : 0;
  const size_t n_levels = spec.method == QuantMethod::Codebook ? size_t(out_features) << spec.bits : 0;
  expect_size(name, spec, "packed codes", parts.packed_codes.size(), size_t(out_features) * L.row_bytes_);
  expect_size(name, spec, "zero points", parts.zero_points.size(), n_zero);
  expect_size(name, spec, "scales", parts.scales.size(), n_scales);
  expect_size(name, spec, "codebook levels", parts.codebooks.size(), n_levels);
  if (!parts.g_idx.empty())
    expect_size(name, spec, "g_idx", parts.g_idx.size(), size_t(in_features));
  check_zero_points(name, spec, parts.zero_points);
  check_g_idx(name, parts.g_idx, L.groups_per_row());
  check_codebooks(name, parts.codebooks);
  L.packed_codes_ = upload_buffer(backend, parts.packed_codes.data(), parts.packed_codes.size(), MemoryComponent::Weights);
  L.zero_points_ = upload_buffer(backend, parts.zero_points.data(), parts.zero_points.size(), MemoryComponent::Weights);
  L.scales_ =
      upload_buffer(backend, parts.scales.data(), parts.scales.size() * sizeof(float), MemoryComponent::Trainable);
  L.g_idx_ = upload_buffer(backend, parts.g_idx.data(), parts.g_idx.size() * sizeof(int32_t), MemoryComponent::Weights);
  L.codebooks_ = upload_buffer(backend, parts.codebooks.data(), parts.codebooks.size() * sizeof(float),
                               MemoryComponent::Weights);
  return L;
}

QuantizedLinear QuantizedLinear::from_double_quant_parts(int out_features, int in_features, const QuantSpec& spec,
                                                         const std::vector<uint8_t>& packed_codes,
                                                         const DoubleQuantizedAbsmax& absmax,
                                                         const std::string& name, Backend& backend) {
  if (!spec.double_quant) fail(name + ": " + spec.to_string() + " is not double-quantized (adopt it with from_parts)");
  QuantizedLinear L = shaped(out_features, in_features, spec, name, backend);
  const size_t n_absmax = size_t(out_features) * size_t(L.groups_per_row());
  expect_size(name, spec, "packed codes", packed_codes.size(), size_t(out_features) * L.row_bytes_);
  expect_size(name, spec, "absmax codes", absmax.codes.size(), n_absmax);
  expect_size(name, spec, "absmax2", absmax.absmax2.size(), (n_absmax + kDoubleQuantBlock - 1) / kDoubleQuantBlock);
  for (size_t b = 0; b < absmax.absmax2.size(); ++b)
    if (!(std::isfinite(absmax.absmax2[b]) && absmax.absmax2[b] > 0))
      fail(name + ": absmax2 " + std::to_string(absmax.absmax2[b]) + " of block " + std::to_string(b) +
           " is not a positive finite number");
  if (!std::isfinite(absmax.offset)) fail(name + ": the absmax offset is not finite");
  L.packed_codes_ = upload_buffer(backend, packed_codes.data(), packed_codes.size(), MemoryComponent::Weights);
  L.absmax_codes_ = upload_buffer(backend, absmax.codes.data(), absmax.codes.size(), MemoryComponent::Weights);
  L.absmax2_ = upload_buffer(backend, absmax.absmax2.data(), absmax.absmax2.size() * sizeof(float),
                             MemoryComponent::Weights);
  L.absmax_offset_ = absmax.offset;
  return L;
}

QuantizedWeightView QuantizedLinear::view() const {
  QuantizedWeightView v;
  v.out_features = out_features_;
  v.in_features = in_features_;
  v.group_size = spec_.group_size;
  v.bits = spec_.bits;
  v.format = spec_.method == QuantMethod::Nf4        ? CodeFormat::Nf4
             : spec_.method == QuantMethod::Codebook ? CodeFormat::Codebook
                                                     : CodeFormat::Scalar;
  v.codebooks = codebooks_.empty() ? nullptr : codebooks_.as<float>();
  v.g_idx = g_idx_.empty() ? nullptr : g_idx_.as<int32_t>();
  v.row_bytes = row_bytes_;
  v.packed_codes = packed_codes_.as<uint8_t>();
  v.zero_points = zero_points_.empty() ? nullptr : zero_points_.as<uint8_t>();
  v.nibble_order = nibble_order_of(spec_);
  if (spec_.double_quant)
    v.double_quant = {absmax_codes_.as<uint8_t>(), absmax2_.as<float>(), absmax_offset_};
  else
    v.scales = scales_.as<float>();
  return v;
}

float* QuantizedLinear::scales_data() {
  if (spec_.double_quant) fail_frozen_base("scales_data");
  return scales_.as<float>();
}

std::vector<uint8_t> QuantizedLinear::packed_codes() const { return download_bytes(*backend_, packed_codes_); }
std::vector<uint8_t> QuantizedLinear::zero_points() const { return download_bytes(*backend_, zero_points_); }
std::vector<float> QuantizedLinear::scales() const {
  if (!spec_.double_quant) return download_vector(*backend_, scales_.as<float>(), num_scales());
  const DoubleQuantizedAbsmax absmax = double_quantized_absmax();
  std::vector<float> decoded(num_scales());
  for (size_t j = 0; j < decoded.size(); ++j) decoded[j] = absmax.absmax(j);
  return decoded;
}

DoubleQuantizedAbsmax QuantizedLinear::double_quantized_absmax() const {
  if (!spec_.double_quant) fail("quantized layer: " + spec_.to_string() + " is not double-quantized");
  DoubleQuantizedAbsmax absmax;
  absmax.codes = download_bytes(*backend_, absmax_codes_);
  absmax.absmax2 = download_vector(*backend_, absmax2_.as<float>(), absmax2_.bytes() / sizeof(float));
  absmax.offset = absmax_offset_;
  return absmax;
}

std::vector<int32_t> QuantizedLinear::g_idx() const {
  return download_vector(*backend_, g_idx_.as<int32_t>(), g_idx_.bytes() / sizeof(int32_t));
}

std::vector<float> QuantizedLinear::codebooks() const {
  return download_vector(*backend_, codebooks_.as<float>(), codebooks_.bytes() / sizeof(float));
}

QuantizedParts QuantizedLinear::parts() const {
  if (spec_.double_quant) fail_frozen_base("parts");
  return QuantizedParts{packed_codes(), zero_points(), scales(), g_idx(), codebooks()};
}

void QuantizedLinear::set_scales(const std::vector<float>& scales) {
  if (spec_.double_quant) fail_frozen_base("set_scales");
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
  if (spec_.double_quant) return uint8_t((p[0] >> (col % 2 ? 0 : 4)) & 0xF);  // the first code is high
  uint32_t w = p[0];
  if (bit % 8 + size_t(spec_.bits) > 8) w |= uint32_t(p[1]) << 8;
  return uint8_t((w >> (bit % 8)) & ((1u << spec_.bits) - 1u));
}

size_t QuantizedLinear::storage_bytes() const {
  const size_t offset_bytes = spec_.double_quant ? sizeof(float) : 0;
  return packed_codes_.bytes() + zero_points_.bytes() + scales_.bytes() + absmax_codes_.bytes() + absmax2_.bytes() +
         g_idx_.bytes() + codebooks_.bytes() + offset_bytes;
}

void QuantizedLinear::dequantize(float* W_out) const { ops::dequantize(*backend_, W_out, view(), nullptr); }

void QuantizedLinear::dequantize_perturbed(float* W_out, const float* scale_offsets) const {
  if (!backend_->is_host()) fail("quantized layer: buffered scale offsets are a CPU-backend test path");
  cpu::dequantize_with_offsets(W_out, view(), scale_offsets);
}

void QuantizedLinear::dequantize_perturbed(float* W_out, uint64_t seed, uint32_t stream, float signed_eps,
                                           bool multiplicative) const {
  const ZoPerturbation p{seed, stream, signed_eps, multiplicative};
  ops::dequantize(*backend_, W_out, view(), &p);
}

}  // namespace qzo
