// Random quantized models layer by layer: host parts of one layer shape at a time, uploaded
// by QuantizedLinear::from_parts, assembled with QuantizedModel::from_layers; never a dense
// matrix weight.
#include "bench/common/random_quantized_model.h"

#include <map>
#include <utility>
#include <vector>

#include "bench/common/bench_rng.h"
#include "framework/core/error.h"
#include "kernels/packing.h"

namespace qzo::bench {

namespace {

struct LayerParts {
  std::vector<uint8_t> packed_codes, zero_points;
  std::vector<float> scales;
};

LayerParts random_parts(int out_features, int in_features, const QuantSpec& spec, const std::string& name,
                        Rng& rng) {
  const int g = spec.resolved_group_size(in_features, name);
  const size_t n_scales = size_t(out_features) * size_t(in_features / g);
  LayerParts p;
  // Uniform random bytes are uniform codes for every bit width (one bit stream per row);
  // bits past a row's last code are left zero, as pack_codes writes them.
  const size_t row_bytes = packed_bytes(size_t(in_features), spec.bits);
  p.packed_codes.resize(size_t(out_features) * row_bytes);
  for (size_t i = 0; i < p.packed_codes.size(); i += 8) {
    const uint64_t r = rng.next();
    for (size_t b = 0; b < 8 && i + b < p.packed_codes.size(); ++b) p.packed_codes[i + b] = uint8_t(r >> (8 * b));
  }
  const size_t tail_bits = size_t(in_features) * size_t(spec.bits) % 8;
  if (tail_bits)
    for (int r = 0; r < out_features; ++r)
      p.packed_codes[(size_t(r) + 1) * row_bytes - 1] &= uint8_t((1u << tail_bits) - 1);
  const int mid = 1 << (spec.bits - 1);
  p.zero_points.resize(n_scales);
  for (uint8_t& z : p.zero_points) z = uint8_t(mid - 1 + int(rng.next() & 1));
  p.scales.resize(n_scales);
  for (float& s : p.scales) s = rng.uniform(0.005f, 0.009f);
  return p;
}

// Embeddings, norms, biases and the head: host values converted to `dense`, then uploaded.
void fill_dense(Parameter& p, DType dense, Backend& be, Rng& rng) {
  const size_t n = size_t(p.numel());
  std::vector<float> host(n);
  const bool norm = p.name.find("norm.weight") != std::string::npos;
  const float a = 0.02f * 1.7320508f;  // uniform(-a, a) has std 0.02
  for (float& x : host) x = norm ? 1.0f : p.shape.size() == 1 ? 0.0f : rng.uniform(-a, a);
  std::vector<uint8_t> bytes(n * dtype_size(dense));
  convert_from_f32(dense, host.data(), bytes.data(), n);
  p.dtype = dense;
  p.values = upload_buffer(be, bytes.data(), bytes.size(), MemoryComponent::Weights);
}

RandomModel from_random_parts(const ModelConfig& config, const QuantSpec& spec, DType dense, Backend& be,
                              uint64_t seed) {
  Model model = Model::empty(config, be);
  Rng rng{seed};
  std::map<std::pair<int64_t, int64_t>, LayerParts> parts_of_shape;
  std::vector<QuantizedLinear> layers;
  for (Parameter& p : model.parameters()) {
    if (!p.is_matrix_weight) {
      fill_dense(p, dense, be, rng);
      continue;
    }
    const int out = int(p.shape[0]), in = int(p.shape[1]);
    auto it = parts_of_shape.find({out, in});
    if (it == parts_of_shape.end())
      it = parts_of_shape.emplace(std::make_pair(out, in), random_parts(out, in, spec, p.name, rng)).first;
    const LayerParts& parts = it->second;
    layers.push_back(
        QuantizedLinear::from_parts(out, in, spec, parts.packed_codes, parts.zero_points, parts.scales, p.name, be));
    p.dtype = dense;  // the replaced weight holds no bytes, as after QuantizedModel::quantize
  }
  QuantizedModel qm = QuantizedModel::from_layers(std::move(model), spec, std::move(layers));
  return {std::move(qm), "random codes/scales per layer shape, uploaded layer by layer (from_parts + from_layers)"};
}

}  // namespace

RandomModel random_quantized_model(const ModelConfig& config, const QuantSpec& spec, DType dense, Backend& backend,
                                   uint64_t seed) {
  if (spec.method != QuantMethod::Rtn) fail("bench: random models are RTN only, not " + spec.to_string());
  if (dense != DType::BF16 && dense != DType::F32) fail("bench: dense weights are bf16 or f32");
  return from_random_parts(config, spec, dense, backend, seed);
}

}  // namespace qzo::bench
