// Prediction tables, the JSON of a prediction, and the report of measured records.
#include "framework/memory/memory_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>

#include "framework/core/dtype.h"
#include "framework/core/error.h"
#include "framework/core/machine.h"
#include "framework/core/paths.h"
#include "framework/core/record_fields.h"

namespace qzo {

namespace {

namespace fs = std::filesystem;

std::string storage_name(DType t) {
  switch (t) {
    case DType::BF16: return "bf16";
    case DType::F16: return "fp16";
    default: return "fp32";
  }
}

const char* kComponentRows[] = {"weights", "trainable", "optimizer", "gradients", "activations", "workspace"};

// The method as the paper's figure names it, with what sets its bytes.
std::string method_title(MemoryMethod m, const MemoryRun& run) {
  switch (m) {
    case MemoryMethod::FtAdamW: return "FT-AdamW (fp32)";
    case MemoryMethod::FtSgd: return "FT-SGD (fp32)";
    case MemoryMethod::Mezo: return "MeZO (" + storage_name(run.storage) + ")";
    case MemoryMethod::Qlora: return "QLoRA (nf4, r " + std::to_string(run.lora.rank) + ")";
    case MemoryMethod::Qzo: return "QZO (" + run.quant.label() + ")";
  }
  return "?";
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

// ---- records

MemoryRun memory_run_from_json(const nlohmann::json& j, const std::string& origin) {
  MemoryRun r;
  r.batch = int(record_number(j, "batch", origin));
  r.seq = int(record_number(j, "seq", origin));
  r.labelled_rows = int(record_number(j, "labelled_rows", origin));
  r.quant = QuantSpec::parse(record_text(j, "quant", origin));
  r.storage = storage_dtype_from_config(record_text(j, "storage", origin));
  const nlohmann::json& lora = record_key(j, "lora", origin);
  r.lora.rank = int(record_number(lora, "rank", origin + ": lora"));
  r.lora.dropout = float(record_number(lora, "dropout", origin + ": lora"));
  r.lora.targets = record_key(lora, "targets", origin + ": lora").get<std::vector<std::string>>();
  r.activation_checkpointing = record_key(j, "activation_checkpointing", origin).get<bool>();
  return r;
}

// One committed record, checked.
struct Record {
  std::string origin, shape, method;
  ModelConfig config;
  MemoryRun run;
  nlohmann::json machine, measured, predicted;
};

Record parse_record(const MemoryRecordFile& f) {
  const std::string& o = f.origin;
  if (record_text(f.record, "record", o) != "qzo-memory/1") fail(o + ": key 'record' is not qzo-memory/1");
  Record r;
  r.origin = o;
  const nlohmann::json& shape = record_key(f.record, "shape", o);
  r.shape = record_text(shape, "name", o + ": shape");
  r.config = ModelConfig::from_json(record_key(shape, "config", o + ": shape"), o + ": shape.config");
  r.run = memory_run_from_json(record_key(f.record, "run", o), o + ": run");
  r.method = record_text(record_key(f.record, "run", o), "method", o + ": run");
  memory_method_from_name(r.method);
  r.machine = record_key(f.record, "machine", o);
  r.measured = record_key(f.record, "measured", o);
  r.predicted = record_key(f.record, "predicted", o);
  for (MemoryMethod m : all_memory_methods()) {
    const nlohmann::json& p = record_key(r.predicted, memory_method_name(m), o + ": predicted");
    for (const char* c : kComponentRows) record_number(p, c, o + ": predicted." + memory_method_name(m));
  }
  for (const char* c : kComponentRows)
    record_number(record_key(r.measured, "peak_bytes", o + ": measured"), c, o + ": measured.peak_bytes");
  for (const char* k : {"peak_total_bytes", "peak_rss_bytes", "step_seconds"})
    record_number(r.measured, k, o + ": measured");
  return r;
}

double predicted_total(const nlohmann::json& p) {
  double n = 0;
  for (const char* c : kComponentRows) n += p[c].get<double>();
  return n;
}

std::string gb(double bytes) { return format_number("%.2f", bytes / 1e9); }

std::string signed_percent(double measured, double predicted) {
  if (predicted == 0) return measured == 0 ? "0" : "n/a";
  return format_number("%+.1f%%", 100.0 * (measured - predicted) / predicted);
}

std::string run_line(const MemoryRun& run) {
  return "batch " + std::to_string(run.batch) + " x " + std::to_string(run.seq) + " tokens, " +
         std::to_string(run.rows()) + " labelled row" + (run.rows() == 1 ? "" : "s") + "; QZO " + run.quant.label() +
         " with " + storage_name(run.storage) + " embeddings, norms and head; MeZO " + storage_name(run.storage) +
         "; QLoRA NF4 base (double-quantized absmax), r " + std::to_string(run.lora.rank) + " on " +
         join(run.lora.targets, ", ") + ", dropout " + format_number("%g", run.lora.dropout) + "; FT fp32" +
         (run.activation_checkpointing ? "; activation checkpointing" : "");
}

size_t parameter_count(const Record& r) {
  // Full fine-tuning's trainable bytes are every parameter in fp32.
  return size_t(r.predicted["ft-sgd"]["trainable"].get<double>() / 4.0);
}

// One shape: every method predicted, the measured figures beside the methods that ran.
void shape_table(std::string& md, const std::vector<const Record*>& recs) {
  const Record& first = *recs.front();
  md += "## " + first.shape + ": " + format_number("%.2f", double(parameter_count(first)) / 1e9) + " B parameters\n\n";
  md += "Predicted by component (GB), then measured on this machine where the model fits:\n\n";
  md +=
      "| method | weights | trainable | optimizer | gradients | activations | workspace | **predicted total** | "
      "measured allocator peak | measured peak RSS | step s (load) |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (MemoryMethod m : all_memory_methods()) {
    const std::string name = memory_method_name(m);
    const nlohmann::json& p = first.predicted[name];
    md += "| " + method_title(m, first.run);
    for (const char* c : kComponentRows) md += " | " + gb(p[c].get<double>());
    md += " | **" + gb(predicted_total(p)) + "**";
    const auto it = std::find_if(recs.begin(), recs.end(), [&](const Record* r) { return r->method == name; });
    if (it == recs.end()) {
      const bool fits = predicted_total(p) < first.machine["memory_bytes"].get<double>();
      md += fits ? " | predicted only (not run) | | |\n" : " | predicted only (exceeds this machine) | | |\n";
      continue;
    }
    const nlohmann::json& meas = (*it)->measured;
    const double total = meas["peak_total_bytes"].get<double>();
    md += " | " + gb(total) + " (" + signed_percent(total, predicted_total(p)) + ") | " +
          gb(meas["peak_rss_bytes"].get<double>()) + " | " + format_number("%.1f", meas["step_seconds"].get<double>()) +
          (meas.contains("load_average") ? " (load " + format_number("%.1f", meas["load_average"].get<double>()) + ")"
                                         : "") +
          " |\n";
  }
  md += "\n";
}

// Measured against predicted, component by component, for every record.
void comparison_table(std::string& md, const std::vector<Record>& records) {
  md += "## Measured against predicted, by component\n\n";
  md +=
      "Allocator peaks of the measured step (GB) and the prediction for the same step; the peak RSS is the "
      "process's own resident peak over the step (reset at its start), whose excess over the allocator is the "
      "binary, its libraries, the threads' buffers and host copies no backend buffer holds (MeZO's bf16 update "
      "stages each tensor on the host).\n\n";
  md += "| shape | method | component | predicted | measured | difference |\n|---|---|---|---|---|---|\n";
  for (const Record& r : records) {
    const nlohmann::json& p = r.predicted[r.method];
    const nlohmann::json& peaks = r.measured["peak_bytes"];
    const std::string who = "| " + r.shape + " | " + method_title(memory_method_from_name(r.method), r.run) + " | ";
    for (const char* c : kComponentRows) {
      const double want = p[c].get<double>(), got = peaks[c].get<double>();
      if (want == 0 && got == 0) continue;
      md += who + c + " | " + gb(want) + " | " + gb(got) + " | " + signed_percent(got, want) + " |\n";
    }
    const double total = r.measured["peak_total_bytes"].get<double>();
    md += who + "total | " + gb(predicted_total(p)) + " | " + gb(total) + " | " +
          signed_percent(total, predicted_total(p)) + " |\n";
    const double rss = r.measured["peak_rss_bytes"].get<double>();
    md += who + "peak RSS (" + (r.measured.value("rss_reset", false) ? "reset at the step" : "NOT reset") + ") | | " +
          gb(rss) + " | RSS - allocator " + gb(rss - total) + " |\n";
  }
  md += "\n";
}

}  // namespace

QuantSpec quant_spec_from_label(const std::string& label) {
  static const std::regex rtn("(rtn|gptq)([2348])(s?)-(g([0-9]+)|channel)(-act)?"), nf4("nf4-(g([0-9]+)|channel)"),
      codebook("codebook([234])-channel");
  std::smatch m;
  std::string spec = label;
  if (std::regex_match(label, m, rtn))
    spec = m[1].str() + ":bits=" + m[2].str() + ",group_size=" + (m[5].matched ? m[5].str() : "channel") +
           ",symmetric=" + (m[3].length() ? "true" : "false") + (m[6].matched ? ",desc_act=true" : "");
  else if (std::regex_match(label, m, codebook))
    spec = "codebook:bits=" + m[1].str();
  else if (std::regex_match(label, m, nf4))
    spec = "nf4:group_size=" + (m[2].matched ? m[2].str() : "channel");
  try {
    QuantSpec s = QuantSpec::parse(spec);
    s.validate();
    return s;
  } catch (const std::exception& e) {
    fail("--quant '" + label + "': " + e.what() +
         " (e.g. rtn4-g128, rtn4s-g32, rtn8-channel, nf4-g64, gptq4-g64-act, codebook3-channel)");
  }
}

std::string memory_bytes_text(double bytes) {
  if (bytes >= 1e9) return format_number("%.2f GB", bytes / 1e9);
  if (bytes >= 1e6) return format_number("%.2f MB", bytes / 1e6);
  if (bytes >= 1e3) return format_number("%.1f KB", bytes / 1e3);
  return format_number("%.0f B", bytes);
}

std::string prediction_table(const ModelConfig& c, const MemoryRun& run, const std::vector<MemoryMethod>& methods,
                             const std::string& model_label) {
  std::vector<MemoryBreakdown> predictions;
  for (MemoryMethod m : methods) predictions.push_back(predict_memory(c, m, run));
  std::string md = "# qzo memory: " + model_label + " (" + std::to_string(c.num_hidden_layers) + " layers, hidden " +
                   std::to_string(c.hidden_size) + ", intermediate " + std::to_string(c.intermediate_size) + ", " +
                   std::to_string(c.num_attention_heads) + "/" + std::to_string(c.num_key_value_heads) +
                   " heads, vocab " + std::to_string(c.vocab_size) + ")\n\n";
  md += run_line(run) +
        ".\nPredicted peaks of one training step as the CPU backend's allocator counts them "
        "(docs/memory.md); the process's RSS adds its binary and libraries.\n\n";
  md += "| component |";
  for (MemoryMethod m : methods) md += " " + method_title(m, run) + " |";
  md += "\n|---|";
  for (size_t i = 0; i < methods.size(); ++i) md += "---|";
  md += "\n";
  for (int c_i = 0; c_i < kMemoryComponents; ++c_i) {
    md += std::string("| ") + kComponentRows[c_i] + " |";
    for (const MemoryBreakdown& p : predictions) md += " " + memory_bytes_text(double(p.bytes[c_i])) + " |";
    md += "\n";
  }
  md += "| **total** |";
  for (const MemoryBreakdown& p : predictions) md += " **" + memory_bytes_text(double(p.total())) + "** |";
  return md + "\n";
}

nlohmann::json prediction_json(const ModelConfig& config, const MemoryRun& run) {
  nlohmann::json out = nlohmann::json::object();
  for (MemoryMethod m : all_memory_methods()) {
    const MemoryBreakdown p = predict_memory(config, m, run);
    nlohmann::json j;
    for (int c = 0; c < kMemoryComponents; ++c) j[kComponentRows[c]] = p.bytes[c];
    j["total"] = p.total();
    out[memory_method_name(m)] = j;
  }
  return out;
}

nlohmann::json memory_run_json(const MemoryRun& run) {
  return {{"batch", run.batch},
          {"seq", run.seq},
          {"labelled_rows", run.rows()},
          {"quant", run.quant.to_string()},
          {"storage", storage_name(run.storage)},
          {"lora", {{"rank", run.lora.rank}, {"targets", run.lora.targets}, {"dropout", run.lora.dropout}}},
          {"activation_checkpointing", run.activation_checkpointing}};
}

std::vector<MemoryRecordFile> read_memory_records(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    if (!fs::is_directory(p)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> in_dir;
    for (const auto& e : fs::directory_iterator(p))
      if (e.path().extension() == ".json") in_dir.push_back(e.path().string());
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  if (files.empty()) fail("--report: no records (*.json) in " + join(paths, ", "));
  std::vector<MemoryRecordFile> out;
  for (const std::string& f : files) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text_file(f));
    } catch (const nlohmann::json::exception& e) {
      fail(f + ": not JSON (" + e.what() + ")");
    }
    out.push_back({f, j});
  }
  return out;
}

std::string memory_report(const std::vector<MemoryRecordFile>& files) {
  std::vector<Record> records;
  for (const MemoryRecordFile& f : files) records.push_back(parse_record(f));
  // Shapes in the order first seen; every record of a shape describes the same step.
  std::vector<std::string> shapes;
  std::map<std::string, std::vector<const Record*>> of_shape;
  for (const Record& r : records) {
    if (!of_shape.count(r.shape)) shapes.push_back(r.shape);
    of_shape[r.shape].push_back(&r);
  }
  // Smaller models first (full fine-tuning's trainable bytes are 4 per parameter).
  std::stable_sort(shapes.begin(), shapes.end(), [&](const std::string& a, const std::string& b) {
    return parameter_count(*of_shape[a].front()) < parameter_count(*of_shape[b].front());
  });
  for (const auto& [shape, recs] : of_shape)
    for (const Record* r : recs)
      if (r->predicted != recs.front()->predicted || memory_run_json(r->run) != memory_run_json(recs.front()->run))
        fail(r->origin + ": its step or prediction differs from " + recs.front()->origin +
             " for the same shape (rerun both with one build and one setting)");
  const Record& first = records.front();
  for (const Record& r : records)
    if (r.machine != first.machine)
      fail(r.origin + ": measured on another machine than " + first.origin + " (one report per machine)");
  std::string md = "# Memory by component of one training step, measured and predicted\n\n";
  md += "Generated by `qzo memory --report` from " + std::to_string(records.size()) +
        " committed records (bench/bench_memory_at_scale); GB = 10^9 bytes. Step: " + run_line(first.run) + ".\n";
  md += "Measured on: " + machine_description(first.machine, first.origin) + ".\n\n";
  for (const std::string& s : shapes) shape_table(md, of_shape[s]);
  comparison_table(md, records);
  return md;
}

}  // namespace qzo
