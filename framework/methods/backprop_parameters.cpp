#include "framework/methods/backprop_parameters.h"

#include <cmath>
#include <cstring>

#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "kernels/ops.h"

namespace qzo {

BackpropOptimizer parse_backprop_optimizer(const std::string& name) {
  if (name == "adamw") return BackpropOptimizer::adamw;
  if (name == "sgd") return BackpropOptimizer::sgd;
  fail("optim.optimizer: expected adamw or sgd, got '" + name + "'");
}

void BackpropParameters::add_tensor(const std::string& name, float* values, int64_t n, bool decay) {
  TrainableTensor t;
  t.name = name;
  t.values = values;
  t.n = n;
  t.decay = decay;
  auto zeroed = [&](MemoryComponent c) {
    owned_.push_back(backend_->alloc(size_t(n) * sizeof(float), c));
    backend_->fill_zero(owned_.back().data(), owned_.back().bytes());
    return owned_.back().as<float>();
  };
  t.grad = zeroed(MemoryComponent::Gradients);
  if (options_.kind == BackpropOptimizer::adamw) {  // SGD keeps no state: its memory is weights + gradients
    t.m = zeroed(MemoryComponent::Optimizer);
    t.v = zeroed(MemoryComponent::Optimizer);
  }
  tensors_.push_back(t);
}

size_t BackpropParameters::size() const {
  size_t n = 0;
  for (const TrainableTensor& t : tensors_) n += size_t(t.n);
  return n;
}

size_t BackpropParameters::trainable_bytes() const { return size() * sizeof(float); }
size_t BackpropParameters::gradient_bytes() const { return size() * sizeof(float); }
size_t BackpropParameters::optimizer_bytes() const {
  return options_.kind == BackpropOptimizer::adamw ? 2 * size() * sizeof(float) : 0;
}

namespace {

std::vector<uint8_t> bytes_of(Backend& be, const float* p, int64_t n) {
  std::vector<uint8_t> out(size_t(n) * sizeof(float));
  be.download(out.data(), p, out.size());
  return out;
}

}  // namespace

std::vector<std::vector<uint8_t>> BackpropParameters::snapshot() const {
  std::vector<std::vector<uint8_t>> s;
  for (const TrainableTensor& t : tensors_) s.push_back(bytes_of(*backend_, t.values, t.n));
  for (const TrainableTensor& t : tensors_)
    if (t.m) {
      s.push_back(bytes_of(*backend_, t.m, t.n));
      s.push_back(bytes_of(*backend_, t.v, t.n));
    }
  s.emplace_back(reinterpret_cast<const uint8_t*>(&steps_), reinterpret_cast<const uint8_t*>(&steps_ + 1));
  return s;
}

void BackpropParameters::restore(const std::vector<std::vector<uint8_t>>& s) {
  const bool adamw = options_.kind == BackpropOptimizer::adamw;
  if (s.size() != tensors_.size() * (adamw ? 3 : 1) + 1) fail("backprop: snapshot does not match the trainable set");
  size_t part = 0;
  auto put = [&](float* dst, const TrainableTensor& t) {
    const std::vector<uint8_t>& bytes = s[part++];
    if (bytes.size() != size_t(t.n) * sizeof(float)) fail("backprop: snapshot does not match tensor " + t.name);
    backend_->upload(dst, bytes.data(), bytes.size());
  };
  for (const TrainableTensor& t : tensors_) put(t.values, t);
  for (const TrainableTensor& t : tensors_)
    if (adamw) {
      put(t.m, t);
      put(t.v, t);
    }
  if (s[part].size() != sizeof steps_) fail("backprop: snapshot has no optimizer step count");
  std::memcpy(&steps_, s[part].data(), sizeof steps_);
}

uint64_t BackpropParameters::state_hash() const {
  uint64_t h = kFnvOffset;
  for (const std::vector<uint8_t>& part : snapshot()) h = fnv1a64_bytes(part.data(), part.size(), h);
  return h;
}

void BackpropParameters::zero_gradients() {
  for (TrainableTensor& t : tensors_) backend_->fill_zero(t.grad, size_t(t.n) * sizeof(float));
}

void BackpropParameters::scale_gradients(float factor) {
  for (TrainableTensor& t : tensors_) ops::scale(*backend_, t.grad, t.n, factor);
}

double BackpropParameters::gradient_norm() const {
  double sum = 0.0;
  for (const TrainableTensor& t : tensors_) {
    const std::vector<float> g = download_vector(*backend_, t.grad, size_t(t.n));
    for (float x : g) sum += double(x) * x;
  }
  return std::sqrt(sum);
}

void BackpropParameters::optimizer_step(float lr) {
  ++steps_;
  if (options_.kind == BackpropOptimizer::sgd) {
    for (TrainableTensor& t : tensors_) ops::scaled_add(*backend_, t.values, t.grad, t.n, -lr);
    return;
  }
  const OptimizerOptions& o = options_;
  const float c1 = 1.0f - std::pow(o.beta1, float(steps_)), c2 = 1.0f - std::pow(o.beta2, float(steps_));
  for (TrainableTensor& t : tensors_) {
    const ops::AdamWStep s{lr, o.beta1, o.beta2, o.eps, t.decay ? o.weight_decay : 0.0f, c1, c2};
    ops::adamw_update(*backend_, t.values, t.grad, t.m, t.v, t.n, s);
  }
}

}  // namespace qzo
