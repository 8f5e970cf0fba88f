// The weights a run evaluates and trains, as its config asks: a model folder written by
// `qzo quantize`, an unquantized folder quantized at load (quant.method), or a plain model
// (quant.method: none), with the label runs and logs name it by.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "framework/config/config.h"
#include "framework/quant/quantized_model.h"

namespace qzo {

struct LoadedModel {
  // The run's own compute backend (first: it outlives the model), whose allocator
  // measures the run's memory by component.
  std::unique_ptr<Backend> backend;
  std::optional<QuantizedModel> quantized;
  std::optional<Model> plain;
  const Model& model() const { return quantized ? quantized->model() : *plain; }
  size_t weight_bytes() const;
};

// True when model folder `dir`'s config.json has a quantization_config (written by qzo
// quantize); throws naming the file when it has no readable config.json.
bool folder_is_quantized_model(const std::string& dir);

// On the config's `backend` (on CUDA, device local_rank mod the host's GPUs).
LoadedModel load_model(const Config& config, int local_rank = 0);

// "rtn4-g32", "rtn4s-g32" (symmetric), "nf4-g64", "rtn8-channel"; the storage dtype ("f32")
// when unquantized.
std::string quant_label(const LoadedModel& model, const Config& config);
// The same label from the config and model.path/config.json alone, before any weight loads.
std::string quant_label(const Config& config);

}  // namespace qzo
