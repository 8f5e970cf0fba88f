// Random double-quantized NF4 models layer by layer: one fp32 weight per layer shape on the host
// (the largest is one MLP matrix, 0.18 GB at 7B), quantized, its host parts shared by the layers
// of that shape; never more than one dense matrix weight at a time.
#include "bench/common/random_nf4_model.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/common/bench_rng.h"
#include "bench/common/random_dense_model.h"
#include "framework/core/error.h"

namespace qzo::bench {

namespace {

struct Nf4Parts {
  std::vector<uint8_t> packed_codes;  // bitsandbytes' nibble order (high first)
  DoubleQuantizedAbsmax absmax;
};

// One random [out, in] fp32 weight (std 0.02) quantized on a scratch backend, then read back.
Nf4Parts random_parts(int out, int in, const QuantSpec& spec, const std::string& name, Backend& scratch, Rng& rng) {
  std::vector<float> w(size_t(out) * size_t(in));
  const float a = 0.02f * 1.7320508f;  // uniform(-a, a) has std 0.02
  for (float& x : w) x = rng.uniform(-a, a);
  const QuantizedLinear layer = QuantizedLinear::quantize(w.data(), out, in, spec, name, scratch);
  return {layer.packed_codes(), layer.double_quantized_absmax()};
}

// Embeddings, norms, biases and the head; 2-D tensors of one shape share their host values.
void fill_dense(Parameter& p, DType dense, Backend& be, Rng& rng,
                std::map<std::vector<int64_t>, std::vector<uint8_t>>& values_of_shape) {
  const bool norm = p.name.find("norm.weight") != std::string::npos, bias = p.shape.size() == 1 && !norm;
  p.dtype = dense;
  if (p.shape.size() == 1) {
    const std::vector<uint8_t> v = random_dense_values(size_t(p.numel()), norm, bias, dense, rng);
    p.values = upload_buffer(be, v.data(), v.size(), MemoryComponent::Weights);
    return;
  }
  auto it = values_of_shape.find(p.shape);
  if (it == values_of_shape.end())
    it = values_of_shape.emplace(p.shape, random_dense_values(size_t(p.numel()), false, false, dense, rng)).first;
  p.values = upload_buffer(be, it->second.data(), it->second.size(), MemoryComponent::Weights);
}

}  // namespace

RandomModel random_nf4_model(const ModelConfig& config, const QuantSpec& spec, DType dense, Backend& backend,
                             uint64_t seed) {
  if (spec.method != QuantMethod::Nf4 || !spec.double_quant)
    fail("bench: random_nf4_model builds nf4:double_quant=true, not " + spec.to_string());
  if (dense != DType::BF16 && dense != DType::F32) fail("bench: dense weights are bf16 or f32");
  Model model = Model::empty(config, backend);
  const std::unique_ptr<Backend> scratch = make_backend("cpu");  // the quantizer's own layer, freed at once
  Rng rng{seed};
  std::map<std::pair<int64_t, int64_t>, Nf4Parts> parts_of_shape;
  std::map<std::vector<int64_t>, std::vector<uint8_t>> dense_of_shape;
  std::vector<QuantizedLinear> layers;
  for (Parameter& p : model.parameters()) {
    if (!p.is_matrix_weight) {
      fill_dense(p, dense, backend, rng, dense_of_shape);
      continue;
    }
    const int out = int(p.shape[0]), in = int(p.shape[1]);
    auto it = parts_of_shape.find({out, in});
    if (it == parts_of_shape.end())
      it = parts_of_shape.emplace(std::make_pair(out, in), random_parts(out, in, spec, p.name, *scratch, rng)).first;
    const Nf4Parts& parts = it->second;
    layers.push_back(QuantizedLinear::from_double_quant_parts(out, in, spec, parts.packed_codes, parts.absmax, p.name,
                                                              backend));
    p.dtype = dense;  // the replaced weight holds no bytes, as after QuantizedModel::quantize
  }
  QuantizedModel qm = QuantizedModel::from_layers(std::move(model), spec, std::move(layers));
  return {std::move(qm),
          "one random fp32 weight per layer shape quantized to NF4 (double-quantized absmax), its parts uploaded "
          "layer by layer (from_double_quant_parts + from_layers)"};
}

}  // namespace qzo::bench
