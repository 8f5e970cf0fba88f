#include "framework/train/run_model.h"

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/quant/calibration.h"
#include "framework/quant/quantized_checkpoint.h"
#include "framework/tasks/task.h"
#include "framework/tasks/task_spec.h"
#include "framework/tokenizer/tokenizer.h"

namespace qzo {

bool folder_is_quantized_model(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!file_exists(path)) fail(path + ": not found (model.path must be an HF model folder)");
  try {
    return nlohmann::json::parse(read_text_file(path)).contains("quantization_config");
  } catch (const nlohmann::json::parse_error& e) {
    fail(path + ": invalid JSON (" + std::string(e.what()) + ")");
  }
}

namespace {

QuantSpec quant_spec_of(const Config& cfg) {
  QuantSpec spec = QuantSpec::defaults(quant_method_from_name(cfg.get<std::string>("quant.method")));
  spec.bits = cfg.get<int>("quant.bits");
  spec.group_size = cfg.get<int>("quant.group_size");
  spec.symmetric = cfg.get<bool>("quant.symmetric");
  spec.double_quant = cfg.get<bool>("quant.double_quant");
  spec.desc_act = cfg.get<bool>("quant.desc_act");
  spec.damp = cfg.get<double>("quant.damp");
  if (spec.method == QuantMethod::Codebook) spec.group_size = 0;  // one scale per output channel
  spec.validate();
  return spec;
}

// GPTQ and the codebook quantizer calibrate on pretraining-split text in the same windows in
// every run (seed 0), so that the quantized model does not change with the run seed, as RTN's
// does not; or on the run's own task training split (prompt + gold answer, the run seed's
// split), which never holds a dev or eval example.
CalibrationSet calibration_of(const Config& cfg, const std::string& path, int seq_len) {
  const Tokenizer tokenizer = Tokenizer::from_file(path + "/tokenizer.json");
  const int samples = cfg.get<int>("quant.calibration_samples");
  if (cfg.get<std::string>("quant.calibration") == "corpus") return corpus_calibration(tokenizer, samples, seq_len, 0);
  const uint64_t seed = uint64_t(cfg.get<int64_t>("seed"));
  const TaskData data = load_task(load_task_spec(cfg.get<std::string>("task.name")), cfg.get<std::string>("task.data_dir"),
                                  cfg.get<int>("task.n_train"), cfg.get<int>("task.n_dev"), cfg.get<int>("task.n_eval"),
                                  seed);
  std::vector<std::string> texts;
  for (const Example& e : data.train) texts.push_back(e.prompt + e.target);
  return text_calibration(tokenizer, texts, samples, seq_len, seed, "the task's training examples");
}

QuantizedModel quantize_at_load(Model model, const QuantSpec& spec, const Config& cfg, const std::string& path) {
  if (!spec.calibrated()) return QuantizedModel::quantize(std::move(model), spec);
  const int seq_len = cfg.get<int>("quant.calibration_seq_len");
  if (seq_len > model.config().max_position_embeddings)
    fail(cfg.where("quant.calibration_seq_len") + ": " + std::to_string(seq_len) +
         " exceeds the model's max_position_embeddings " + std::to_string(model.config().max_position_embeddings));
  const CalibrationSet data = calibration_of(cfg, path, seq_len);
  return QuantizedModel::quantize(std::move(model), spec, &data);
}

}  // namespace

size_t LoadedModel::weight_bytes() const {
  if (quantized) return quantized->weight_bytes();
  size_t n = 0;
  for (const Parameter& p : plain->parameters()) n += p.nbytes();
  return n;
}

LoadedModel load_model(const Config& cfg, int local_rank) {
  const std::string path = cfg.get<std::string>("model.path");
  const DType dtype = storage_dtype_from_config(cfg.get<std::string>("model.dtype"));
  LoadedModel m;
  try {
    m.backend = make_backend(cfg.get<std::string>("backend"), local_rank);
  } catch (const std::exception& e) {
    fail(cfg.where("backend") + ": " + e.what());
  }
  Backend& be = *m.backend;
  if (folder_is_quantized_model(path)) {
    m.quantized.emplace(QuantizedModel::load(path, dtype, be));
  } else if (cfg.get<std::string>("quant.method") != "none") {
    m.quantized.emplace(quantize_at_load(Model::load(path, dtype, be), quant_spec_of(cfg), cfg, path));
  } else {
    m.plain.emplace(Model::load(path, dtype, be));
  }
  return m;
}

namespace {


}  // namespace

std::string quant_label(const LoadedModel& m, const Config& cfg) {
  if (!m.quantized) return cfg.get<std::string>("model.dtype");
  return m.quantized->spec().label();
}

std::string quant_label(const Config& cfg) {
  const std::string path = cfg.get<std::string>("model.path");
  if (folder_is_quantized_model(path))
    return quant_spec_from_quantization_config(nlohmann::json::parse(read_text_file(path + "/config.json")),
                                              path + "/config.json")
        .label();
  if (cfg.get<std::string>("quant.method") == "none") return cfg.get<std::string>("model.dtype");
  return quant_spec_of(cfg).label();
}

}  // namespace qzo
