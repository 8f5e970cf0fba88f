// The memory predictor's tables and the memory records: `qzo memory` prints a prediction side
// by side for the methods; bench_memory_at_scale writes one JSON record per measured step
// (machine, shape, the allocator's peaks by component, the run's peak RSS, the step time and
// the prediction for every method at that shape); `qzo memory --report` turns committed
// records into docs/results/memory/report.md, so that no figure there is typed by hand.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/memory/memory_model.h"

namespace qzo {

// A run label ("rtn4-g128", "rtn4s-g32", "rtn8-channel", "nf4-g64", "gptq4-g64-act",
// "codebook3-channel"; QuantSpec::label) or a QuantSpec string; throws naming --quant.
QuantSpec quant_spec_from_label(const std::string& text);

// "1.23 GB" / "45.6 MB" / "789 KB" (powers of 1000, as the trainer's memory line).
std::string memory_bytes_text(double bytes);

// The markdown table of `methods` side by side (rows: components and total) for one shape.
std::string prediction_table(const ModelConfig& config, const MemoryRun& run, const std::vector<MemoryMethod>& methods,
                             const std::string& model_label);

// The prediction as a record holds it: {method: {component: bytes, ..., "total": bytes}}.
nlohmann::json prediction_json(const ModelConfig& config, const MemoryRun& run);
nlohmann::json memory_run_json(const MemoryRun& run);

// The report of records (each a file's parsed JSON, `origin` its path for errors): one table
// per shape (every method predicted, measured beside it where a record is), then measured
// against predicted per component. Throws naming the file and key of a malformed record.
struct MemoryRecordFile {
  std::string origin;
  nlohmann::json record;
};
std::string memory_report(const std::vector<MemoryRecordFile>& records);
// Reads the records of the given files, and of the *.json files in the given folders (sorted).
std::vector<MemoryRecordFile> read_memory_records(const std::vector<std::string>& paths);

}  // namespace qzo
