// Random dense models tensor by tensor: the host bytes of one tensor shape at a time (an fp32
// staging row block, converted), uploaded into the empty model's parameters.
#include "bench/common/random_dense_model.h"

#include <map>
#include <string>
#include <vector>

#include "framework/core/error.h"

namespace qzo::bench {

std::vector<uint8_t> random_dense_values(size_t n, bool norm, bool bias, DType storage, Rng& rng) {
  constexpr size_t kBlock = size_t(1) << 20;
  const float a = 0.02f * 1.7320508f;  // uniform(-a, a) has std 0.02
  std::vector<uint8_t> bytes(n * dtype_size(storage));
  std::vector<float> block(std::min(n, kBlock));
  for (size_t start = 0; start < n; start += kBlock) {
    const size_t m = std::min(kBlock, n - start);
    for (size_t i = 0; i < m; ++i) block[i] = norm ? 1.0f : bias ? 0.0f : rng.uniform(-a, a);
    convert_from_f32(storage, block.data(), bytes.data() + start * dtype_size(storage), m);
  }
  return bytes;
}

Model random_dense_model(const ModelConfig& config, DType storage, Backend& backend, uint64_t seed) {
  if (storage != DType::BF16 && storage != DType::F16 && storage != DType::F32)
    fail("bench: dense weights are bf16, f16 or f32, not " + dtype_name(storage));
  Model model = Model::empty(config, backend);
  Rng rng{seed};
  std::map<std::vector<int64_t>, std::vector<uint8_t>> values_of_shape;  // matrices and embeddings
  for (Parameter& p : model.parameters()) {
    const bool norm = p.name.find("norm.weight") != std::string::npos, bias = p.shape.size() == 1 && !norm;
    p.dtype = storage;
    if (p.shape.size() == 1) {
      const std::vector<uint8_t> v = random_dense_values(size_t(p.numel()), norm, bias, storage, rng);
      p.values = upload_buffer(backend, v.data(), v.size(), MemoryComponent::Weights);
      continue;
    }
    auto it = values_of_shape.find(p.shape);
    if (it == values_of_shape.end())
      it = values_of_shape.emplace(p.shape, random_dense_values(size_t(p.numel()), false, false, storage, rng)).first;
    p.values = upload_buffer(backend, it->second.data(), it->second.size(), MemoryComponent::Weights);
  }
  return model;
}

}  // namespace qzo::bench
