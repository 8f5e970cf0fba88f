// The memory predictor: one small function per allocation site of the code it predicts,
// each naming where that memory is taken, so that a change there is a change here.
#include "framework/memory/memory_model.h"

#include <algorithm>
#include <memory>

#include "framework/core/error.h"
#include "framework/model/model.h"
#include "kernels/cpu/cpu_weights.h"
#include "kernels/packing.h"

namespace qzo {

namespace {

// Workspace::take hands out 256-byte-aligned slices (kernels/backend.h); Buffers are exact.
size_t aligned(size_t bytes) { return (std::max<size_t>(bytes, 1) + 255) / 256 * 256; }
size_t f32s(size_t n) { return aligned(n * sizeof(float)); }
size_t i32s(size_t n) { return aligned(n * sizeof(int32_t)); }

// One tensor as Model::empty lays it out: a linear weight is [rows = out, cols = in].
struct Tensor {
  std::string name;
  size_t rows = 0, cols = 0, numel = 0;
  bool matrix = false;
  bool norm = false;
};

struct Layout {
  std::vector<Tensor> tensors;
  size_t head = 0;  // the LM head's tensor (the embedding when tied)
  size_t parameters() const {
    size_t n = 0;
    for (const Tensor& t : tensors) n += t.numel;
    return n;
  }
  size_t largest() const {
    size_t n = 0;
    for (const Tensor& t : tensors) n = std::max(n, t.numel);
    return n;
  }
};

// The model's own parameter list, from an empty model (no weight bytes are allocated).
Layout layout_of(const ModelConfig& c) {
  const std::unique_ptr<Backend> scratch_backend = make_backend("cpu");
  const Model model = Model::empty(c, *scratch_backend);
  Layout l;
  for (const Parameter& p : model.parameters()) {
    Tensor t;
    t.name = p.name;
    t.numel = size_t(p.numel());
    t.rows = size_t(p.shape[0]);
    t.cols = p.shape.size() > 1 ? size_t(p.shape[1]) : 1;
    t.matrix = p.is_matrix_weight;
    t.norm = p.name.find("norm.weight") != std::string::npos;
    l.tensors.push_back(t);
  }
  l.head = size_t(model.parameter_id(c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight"));
  return l;
}

// "model.layers.0.self_attn.q_proj.weight" -> "q_proj".
std::string module_of(const std::string& name) {
  const size_t last = name.rfind('.');
  const size_t before = last == std::string::npos ? std::string::npos : name.rfind('.', last - 1);
  return before == std::string::npos ? "" : name.substr(before + 1, last - before - 1);
}

bool targeted(const LoraShape& lora, const Tensor& t) {
  if (!t.matrix) return false;
  const std::string module = module_of(t.name);
  for (const std::string& target : lora.targets)
    if (target == "all-linear" || target == module) return true;
  return false;
}

// ---- weights

// Model::Impl::build_index: cos and sin tables [max_position_embeddings, head_dim / 2], fp32.
size_t rope_table_bytes(const ModelConfig& c) {
  return 2 * size_t(c.max_position_embeddings) * size_t(c.head_dim / 2) * sizeof(float);
}

size_t dense_bytes(const Tensor& t, DType storage) { return t.numel * dtype_size(storage); }

// QuantizedLinear::from_parts: packed codes (rows of packed_bytes(in, bits)), for RTN and GPTQ
// one uint8 zero point per group, for act-order an int32 group per input column, for the
// codebook 2^bits fp32 levels per row: the frozen part of a quantized layer.
size_t quantized_frozen_bytes(const Tensor& t, const QuantSpec& spec) {
  const size_t groups = t.rows * size_t(t.cols / size_t(spec.resolved_group_size(int(t.cols), t.name)));
  const size_t zero_points = spec.scalar_codes() ? groups : 0;
  const size_t g_idx = spec.desc_act ? t.cols * sizeof(int32_t) : 0;
  const size_t levels = spec.method == QuantMethod::Codebook ? (t.rows << spec.bits) * sizeof(float) : 0;
  return t.rows * packed_bytes(t.cols, spec.bits) + zero_points + g_idx + levels;
}

// Its trainable part: one fp32 scale per group.
size_t quantized_scale_bytes(const Tensor& t, const QuantSpec& spec) {
  return t.rows * size_t(t.cols / size_t(spec.resolved_group_size(int(t.cols), t.name))) * sizeof(float);
}

// ---- the activation arena (Model::Impl::acts)

struct PassShape {
  size_t B, T, N, R, D, F, Q, KV, V, H, L;
};

PassShape pass_shape(const ModelConfig& c, const MemoryRun& run) {
  PassShape s;
  s.B = size_t(run.batch);
  s.T = size_t(run.seq);
  s.N = s.B * s.T;
  s.R = size_t(run.rows());
  s.D = size_t(c.hidden_size);
  s.F = size_t(c.intermediate_size);
  s.Q = size_t(c.q_dim());
  s.KV = size_t(c.kv_dim());
  s.V = size_t(c.vocab_size);
  s.H = size_t(c.num_attention_heads);
  s.L = size_t(c.num_hidden_layers);
  return s;
}

// Model::Impl::take_layer_activations: one layer's slices; `keep` adds what the backward reads.
size_t layer_activation_bytes(const PassShape& s, bool keep) {
  size_t n = 2 * f32s(s.N * s.D) + 2 * f32s(s.N) + 2 * f32s(s.N * s.Q) + 3 * f32s(s.N * s.F);
  if (keep) n += 2 * f32s(s.N * s.D) + f32s(s.B * s.H * s.T * s.T);
  return n;
}

// forward.cpp hidden_states + labelled_head: tokens, positions, the residual stream, k and v,
// one layer's activations reused by every layer, then the head on the R labelled rows.
size_t inference_activation_bytes(const PassShape& s) {
  const size_t hidden = 2 * i32s(s.N) + f32s(s.N * s.D) + 2 * f32s(s.N * s.KV) + layer_activation_bytes(s, false);
  const size_t head = 2 * i32s(s.R) + 2 * f32s(s.R * s.D) + f32s(s.R * s.V) + f32s(s.R);
  return hidden + head;
}

// backward.cpp Model::backprop (and forward_backward): the residual stream, the tokens and
// positions, each layer's kept activations with its k and v (one set plus every layer's input
// when checkpointing), then dx, the head's row list, rows and their gradients, and one
// layer's gradient buffers.
size_t backprop_activation_bytes(const PassShape& s, bool checkpointing) {
  const size_t ND = f32s(s.N * s.D);
  const size_t one_layer = layer_activation_bytes(s, true) + 2 * f32s(s.N * s.KV);
  const size_t kept = checkpointing ? one_layer + s.L * ND : s.L * one_layer;
  const size_t head = i32s(s.R) + 4 * f32s(s.R * s.D) + f32s(s.R) + f32s(s.R * s.V);
  const size_t layer_grads = ND + 3 * f32s(s.N * s.F) + 2 * f32s(s.N * s.Q) + 2 * f32s(s.N * s.KV);
  return ND + 2 * i32s(s.N) + kept + ND + head + layer_grads;
}

// ---- the scratch arena (Model::Impl::scratch): reset before each weight read, so its peak is
// the largest single read.

// What one read of tensor t costs in scratch (kernels/cpu/linear.cpp): nothing for fp32 read as
// is; an fp32 copy when converted, dequantized or perturbed; an unperturbed dense weight in
// another dtype at most dense_read_chunk_bytes() of rows at a time (plus their M output rows).
size_t dense_read_bytes(const Tensor& t, DType storage, bool perturbed, size_t M) {
  if (storage == DType::F32 && !perturbed) return 0;
  if (perturbed || t.numel * sizeof(float) <= dense_read_chunk_bytes()) return f32s(t.numel);
  const size_t rows = std::max<size_t>(1, dense_read_chunk_bytes() / (sizeof(float) * t.cols));
  return f32s(std::min(rows, t.rows) * t.cols) + f32s(M * std::min(rows, t.rows));
}

// QZO's forward (QuantizedWeights): every linear weight dequantized into fp32; the norms and
// the head read from storage (the head on the R labelled rows).
size_t qzo_scratch_bytes(const Layout& l, const MemoryRun& run) {
  size_t peak = 0;
  for (size_t i = 0; i < l.tensors.size(); ++i) {
    const Tensor& t = l.tensors[i];
    if (t.matrix) peak = std::max(peak, f32s(t.numel));
    else if (t.norm) peak = std::max(peak, dense_read_bytes(t, run.storage, false, 1));
    if (i == l.head) peak = std::max(peak, dense_read_bytes(t, run.storage, false, size_t(run.rows())));
  }
  return peak;
}

// MeZO's forward (every read perturbed, the embedding row by row without scratch) and, for
// bf16/fp16 storage, its update's fp32 copy of one tensor at a time (mezo.cpp update_rounded),
// held in a workspace of its own while the model's scratch keeps its size.
size_t mezo_workspace_bytes(const Layout& l, const MemoryRun& run) {
  size_t read = 0;
  for (size_t i = 0; i < l.tensors.size(); ++i) {
    const Tensor& t = l.tensors[i];
    if (t.matrix || t.norm || i == l.head) read = std::max(read, f32s(t.numel));
  }
  const size_t update = run.storage == DType::F32 ? 0 : f32s(l.largest());
  return read + update;
}

// ---- the scratch arena replayed: a pass whose reads take several slices (QLoRA's adapters)
// can outgrow the arena halfway through a read, and then holds the old block's unused tail
// beside the new one until the next reset. Workspace's policy (kernels/dispatch/backend.cpp),
// step for step, gives that peak exactly.
class ArenaReplay {
 public:
  void take(size_t bytes) {
    const size_t n = aligned(bytes);
    if (blocks_.empty() || offset_ + n > blocks_.back()) {
      if (in_use_ == 0) free_all();
      allocate(std::max(n, high_water_ > in_use_ ? high_water_ - in_use_ : 0));
      offset_ = 0;
    }
    offset_ += n;
    in_use_ += n;
    high_water_ = std::max(high_water_, in_use_);
  }
  void reset() {
    if (blocks_.size() > 1 || (!blocks_.empty() && blocks_.back() < high_water_)) {
      free_all();
      allocate(high_water_);
    } else if (blocks_.empty() && high_water_ > 0) {
      allocate(high_water_);
    }
    offset_ = in_use_ = 0;
  }
  size_t peak() const { return peak_; }

 private:
  void allocate(size_t n) {
    blocks_.push_back(n);
    current_ += n;
    peak_ = std::max(peak_, current_);
  }
  void free_all() {
    for (size_t b : blocks_) current_ -= b;
    blocks_.clear();
  }
  std::vector<size_t> blocks_;
  size_t offset_ = 0, in_use_ = 0, high_water_ = 0, current_ = 0, peak_ = 0;
};

// ---- QLoRA: every term in one place, as its base and adapters are laid out today
// (framework/methods/lora.cpp, framework/model/backward.cpp, QuantizedLinear's
// double-quantized NF4), so that when they change only this changes.
struct QloraTerms {
  size_t base = 0, dense = 0, adapters = 0, scratch = 0;
};

// Scratch of one training pass (backward.cpp Model::backprop), read by read: a norm's read
// (fp32, in place) only resets the arena; a linear read resets it and takes the dequantized
// fp32 weight, then an adapted one adds model.cpp lora_forward's dropout(x) [N, in], u [N, r]
// and y [N, out], or in the backward lora_backward's dropout(x), s·u and du [N, r] and
// dx [N, in] (u and the mask are recomputed, not kept). The head is fp32, in place.
size_t qlora_scratch_bytes(const Layout& l, const PassShape& s, const LoraShape& lora, bool checkpointing) {
  std::vector<std::vector<const Tensor*>> layers;  // each layer's q, k, v, o, gate, up, down
  for (const Tensor& t : l.tensors)
    if (t.matrix) {
      if (module_of(t.name) == "q_proj") layers.emplace_back();
      layers.back().push_back(&t);
    }
  ArenaReplay arena;
  const size_t r = size_t(lora.rank);
  auto read = [&](const Tensor& t, bool backward) {
    arena.reset();
    arena.take(t.numel * sizeof(float));
    if (!targeted(lora, t)) return;
    if (lora.dropout > 0.0f) arena.take(s.N * t.cols * sizeof(float));
    arena.take(s.N * r * sizeof(float));
    arena.take(s.N * (backward ? r : t.rows) * sizeof(float));
    if (backward) arena.take(s.N * t.cols * sizeof(float));
  };
  enum { q, k, v, o, gate, up, down };
  auto layer_forward = [&](const std::vector<const Tensor*>& w) {
    arena.reset();  // input norm
    for (int i : {q, k, v}) read(*w[i], false);
    arena.reset();  // before attention
    read(*w[o], false);
    arena.reset();  // post-attention norm
    for (int i : {gate, up, down}) read(*w[i], false);
  };
  for (const auto& w : layers) layer_forward(w);
  for (int i = 0; i < 4; ++i) arena.reset();  // final norm, head (forward and backward), final norm
  for (auto w = layers.rbegin(); w != layers.rend(); ++w) {
    if (checkpointing) layer_forward(*w);
    for (int i : {down, gate, up}) read(*(*w)[i], true);
    arena.reset();  // post-attention norm
    read(*(*w)[o], true);
    arena.reset();  // input norm, recomputing h1
    for (int i : {q, k, v}) read(*(*w)[i], true);
    arena.reset();  // input norm's backward
  }
  return arena.peak();
}

QloraTerms qlora_terms(const Layout& l, const PassShape& s, const MemoryRun& run) {
  QloraTerms q;
  const size_t r = size_t(run.lora.rank);
  const QuantSpec base = QuantSpec::defaults(QuantMethod::Nf4);  // blocks of 64, as nf4:double_quant=true
  for (const Tensor& t : l.tensors) {
    if (!t.matrix) {
      q.dense += t.numel * sizeof(float);  // embeddings, norms, head: fp32, frozen
      continue;
    }
    // NF4 codes (two per byte), one 8-bit absmax code per 64-weight block, one fp32 absmax2 per
    // 256 blocks (the offset is a member, not an allocation).
    const size_t blocks = t.rows * (t.cols / size_t(base.resolved_group_size(int(t.cols), t.name)));
    q.base += t.rows * packed_bytes(t.cols, 4) + blocks + (blocks + 255) / 256 * sizeof(float);
    if (targeted(run.lora, t)) q.adapters += r * (t.rows + t.cols) * sizeof(float);  // A [r, in], B [out, r]
  }
  q.scratch = qlora_scratch_bytes(l, s, run.lora, run.activation_checkpointing);
  return q;
}

MemoryBreakdown predict_qzo(const ModelConfig& c, const Layout& l, const MemoryRun& run) {
  MemoryBreakdown m;
  m.at(MemoryComponent::Weights) = rope_table_bytes(c);
  for (const Tensor& t : l.tensors) {
    if (t.matrix) {
      m.at(MemoryComponent::Weights) += quantized_frozen_bytes(t, run.quant);
      m.at(MemoryComponent::Trainable) += quantized_scale_bytes(t, run.quant);
    } else {
      m.at(MemoryComponent::Weights) += dense_bytes(t, run.storage);
    }
  }
  m.at(MemoryComponent::Activations) = inference_activation_bytes(pass_shape(c, run));
  m.at(MemoryComponent::Workspace) = qzo_scratch_bytes(l, run);
  return m;
}

// MeZO trains every stored weight in place (MezoParameters retags them as trainable).
MemoryBreakdown predict_mezo(const ModelConfig& c, const Layout& l, const MemoryRun& run) {
  MemoryBreakdown m;
  m.at(MemoryComponent::Weights) = rope_table_bytes(c);
  for (const Tensor& t : l.tensors) m.at(MemoryComponent::Trainable) += dense_bytes(t, run.storage);
  m.at(MemoryComponent::Activations) = inference_activation_bytes(pass_shape(c, run));
  m.at(MemoryComponent::Workspace) = mezo_workspace_bytes(l, run);
  return m;
}

// Full fine-tuning: fp32 weights (trainable), an fp32 gradient each, AdamW's m and v (SGD none);
// every read is plain fp32, so the scratch arena is never used.
MemoryBreakdown predict_ft(const ModelConfig& c, const Layout& l, const MemoryRun& run, bool adamw) {
  MemoryBreakdown m;
  const size_t weights = l.parameters() * sizeof(float);
  m.at(MemoryComponent::Weights) = rope_table_bytes(c);
  m.at(MemoryComponent::Trainable) = weights;
  m.at(MemoryComponent::Gradients) = weights;
  m.at(MemoryComponent::Optimizer) = adamw ? 2 * weights : 0;
  m.at(MemoryComponent::Activations) = backprop_activation_bytes(pass_shape(c, run), run.activation_checkpointing);
  return m;
}

MemoryBreakdown predict_qlora(const ModelConfig& c, const Layout& l, const MemoryRun& run) {
  const PassShape s = pass_shape(c, run);
  const QloraTerms q = qlora_terms(l, s, run);
  MemoryBreakdown m;
  m.at(MemoryComponent::Weights) = rope_table_bytes(c) + q.base + q.dense;
  m.at(MemoryComponent::Trainable) = q.adapters;
  m.at(MemoryComponent::Gradients) = q.adapters;
  m.at(MemoryComponent::Optimizer) = 2 * q.adapters;  // AdamW
  m.at(MemoryComponent::Activations) = backprop_activation_bytes(s, run.activation_checkpointing);
  m.at(MemoryComponent::Workspace) = q.scratch;
  return m;
}

void require(bool ok, const std::string& message) {
  if (!ok) fail(message);
}

}  // namespace

const std::vector<MemoryMethod>& all_memory_methods() {
  static const std::vector<MemoryMethod> methods = {MemoryMethod::FtAdamW, MemoryMethod::FtSgd, MemoryMethod::Mezo,
                                                    MemoryMethod::Qlora, MemoryMethod::Qzo};
  return methods;
}

std::string memory_method_name(MemoryMethod method) {
  switch (method) {
    case MemoryMethod::FtAdamW: return "ft-adamw";
    case MemoryMethod::FtSgd: return "ft-sgd";
    case MemoryMethod::Mezo: return "mezo";
    case MemoryMethod::Qlora: return "qlora";
    case MemoryMethod::Qzo: return "qzo";
  }
  return "?";
}

MemoryMethod memory_method_from_name(const std::string& name) {
  for (MemoryMethod m : all_memory_methods())
    if (memory_method_name(m) == name) return m;
  fail("--method: '" + name + "' is not one of all, ft-adamw, ft-sgd, mezo, qlora, qzo");
}

size_t MemoryBreakdown::total() const {
  size_t n = 0;
  for (size_t b : bytes) n += b;
  return n;
}

size_t dense_read_chunk_bytes() { return cpu::kDenseReadChunkBytes; }

void validate_memory_run(const ModelConfig& c, const MemoryRun& run) {
  require(run.batch > 0, "--batch: expected a positive number of rows, got " + std::to_string(run.batch));
  require(run.seq > 0, "--seq: expected a positive number of tokens, got " + std::to_string(run.seq));
  require(run.seq <= c.max_position_embeddings, "--seq " + std::to_string(run.seq) +
                                                    " exceeds the model's max_position_embeddings " +
                                                    std::to_string(c.max_position_embeddings));
  require(run.labelled_rows >= 0 && int64_t(run.labelled_rows) <= int64_t(run.batch) * run.seq,
          "--labelled-rows: expected 1 to batch x seq = " + std::to_string(int64_t(run.batch) * run.seq) + ", got " +
              std::to_string(run.labelled_rows));
  require(run.storage == DType::F32 || run.storage == DType::BF16 || run.storage == DType::F16,
          "--dtype: expected f32, bf16 or f16, got " + dtype_name(run.storage));
  run.quant.validate();
  require(run.lora.rank > 0, "--lora-r: expected a positive rank, got " + std::to_string(run.lora.rank));
  require(run.lora.dropout >= 0.0f && run.lora.dropout < 1.0f,
          "--lora-dropout: expected a probability in [0, 1), got " + std::to_string(run.lora.dropout));
  static const std::vector<std::string> modules = {"q_proj", "k_proj",  "v_proj",   "o_proj",
                                                   "gate_proj", "up_proj", "down_proj", "all-linear"};
  require(!run.lora.targets.empty(), "--lora-targets: expected at least one module");
  for (const std::string& t : run.lora.targets)
    require(std::find(modules.begin(), modules.end(), t) != modules.end(),
            "--lora-targets: '" + t + "' is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, "
                                      "down_proj, all-linear");
}

MemoryBreakdown predict_memory(const ModelConfig& config, MemoryMethod method, const MemoryRun& run) {
  validate_memory_run(config, run);
  const Layout layout = layout_of(config);
  switch (method) {
    case MemoryMethod::FtAdamW: return predict_ft(config, layout, run, true);
    case MemoryMethod::FtSgd: return predict_ft(config, layout, run, false);
    case MemoryMethod::Mezo: return predict_mezo(config, layout, run);
    case MemoryMethod::Qlora: return predict_qlora(config, layout, run);
    case MemoryMethod::Qzo: return predict_qzo(config, layout, run);
  }
  fail("memory: unknown method");
}

}  // namespace qzo
