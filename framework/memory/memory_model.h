// The memory a training step of each method needs, by component, predicted for any Llama
// shape from what this code allocates (docs/memory.md): the model's tensors as Model::empty
// lays them out, the quantized layers' codes, zero points and fp32 scales, the activation
// arena's slices (256-byte aligned) of forward.cpp / backward.cpp, the scratch arena's one
// weight read at a time, and each method's trainable set, gradients and optimizer state.
// Predicted peaks are what the backend's allocator reports for the same pass (CPU backend).
#pragma once
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "framework/core/dtype.h"
#include "framework/model/config.h"
#include "framework/quant/quant_spec.h"
#include "kernels/backend.h"

namespace qzo {

// The methods the paper's memory figure compares.
enum class MemoryMethod { FtAdamW, FtSgd, Mezo, Qlora, Qzo };
const std::vector<MemoryMethod>& all_memory_methods();  // in the figure's order
std::string memory_method_name(MemoryMethod method);     // "ft-adamw", "ft-sgd", "mezo", "qlora", "qzo"
// Throws "--method: ..." naming the choices.
MemoryMethod memory_method_from_name(const std::string& name);

// QLoRA's adapters: rank r on the targeted linear modules (q_proj, ..., down_proj); the
// defaults are configs/qlora-paper.yaml's, the QZO paper's comparison.
struct LoraShape {
  int rank = 8;
  std::vector<std::string> targets = {"q_proj", "v_proj"};
  float dropout = 0.05f;
};

// The training pass a prediction is for.
struct MemoryRun {
  int batch = 16, seq = 128;
  int labelled_rows = 0;  // rows the LM head runs on (0: batch, one label per example)
  QuantSpec quant;        // QZO's quantizer
  DType storage = DType::F32;  // MeZO's weights, and QZO's unquantized tensors (embeddings, norms, head)
  LoraShape lora;
  bool activation_checkpointing = false;  // backprop methods (FT, QLoRA)
  int rows() const { return labelled_rows > 0 ? labelled_rows : batch; }
};

// Peak bytes per component (MemoryComponent order) and their sum.
struct MemoryBreakdown {
  std::array<size_t, kMemoryComponents> bytes{};
  size_t of(MemoryComponent c) const { return bytes[static_cast<int>(c)]; }
  size_t& at(MemoryComponent c) { return bytes[static_cast<int>(c)]; }
  size_t total() const;
};

// Throws naming the field (--batch, --seq, --labelled-rows, --quant, --lora-r, ...) when the
// run cannot be made with this config (e.g. a sequence beyond max_position_embeddings).
void validate_memory_run(const ModelConfig& config, const MemoryRun& run);
MemoryBreakdown predict_memory(const ModelConfig& config, MemoryMethod method, const MemoryRun& run);

// Rows of the LM head converted to fp32 at once when it is stored in another dtype
// (kernels/cpu/linear.cpp): the fp32 copy never exceeds this many bytes, so that a 7B head
// (0.5 GB in fp32) does not set the step's workspace.
size_t dense_read_chunk_bytes();

}  // namespace qzo
