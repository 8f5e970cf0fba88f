// LoRA adapters in PEFT's folder layout, so that adapters trained here load in PEFT and the
// other way round: adapter_config.json (peft_type LORA, r, lora_alpha, lora_dropout,
// target_modules) and adapter_model.safetensors with fp32
// base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r].
#pragma once
#include <string>

#include "framework/methods/lora.h"

namespace qzo {

// Writes the folder (the safetensors file first, the config last, each atomically): a folder
// with an adapter_config.json is complete. `base_model` is recorded as base_model_name_or_path.
void save_peft_adapter(const LoraParameters& lora, const std::string& dir, const std::string& base_model);

// The LoRA settings of a PEFT folder. Errors name the file and the key.
LoraSpec read_peft_spec(const std::string& dir);

// Loads the folder's factors into `lora`, whose spec and model must match them (every
// adapter present, shapes equal). Errors name the file and the tensor.
void load_peft_adapter(LoraParameters& lora, const std::string& dir);

// The base a qzo-trained adapter was trained on, kept beside PEFT's files in qzo_base.json
// (PEFT reads only its own files): the model folder and the quantizer applied at load
// ("none" when the folder was used as it is).
struct AdapterBase {
  std::string model_path;
  std::string quantization = "none";
};
void save_adapter_base(const std::string& dir, const AdapterBase& base);
AdapterBase read_adapter_base(const std::string& dir);  // empty fields when there is no qzo_base.json

// A plain fp32 model whose weights are the base's (dequantized) plus (α/r)·B·A on every
// adapted layer: what `qzo merge` writes. Built one tensor at a time.
Model merge_lora(const LoraParameters& lora);

}  // namespace qzo
