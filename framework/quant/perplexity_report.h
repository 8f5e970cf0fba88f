// The perplexity table of `qzo quantize --sweep`: one JSON record per model (the unquantized
// reference first, then every quantizer) written with --records DIR, and `qzo quantize
// --report DIR`, which turns committed records into docs/results/perplexity/report.md so that
// no figure there is typed by hand.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qzo {

struct PerplexityRecord {
  int index = 0;          // order in the sweep (0: unquantized)
  std::string quantizer;  // "unquantized (f32)" or a QuantSpec string
  std::string label;      // QuantSpec::label(), "" for the reference
  double bits_per_weight = 0, weight_mb = 0, perplexity = 0, quantize_seconds = 0;
  size_t scales = 0;  // 0 for the reference
  std::string note;   // why a quantizer does not apply to this model (then no perplexity)
  // What the perplexity was measured on: the model folder, emails, tokens, window, machine,
  // and for calibrated quantizers the calibration set.
  nlohmann::json context;

  nlohmann::json to_json() const;
  static PerplexityRecord from_json(const nlohmann::json& j, const std::string& origin);
};

// The table's header line and one row, as the sweep prints them while it runs.
std::string perplexity_table_header();
std::string perplexity_row(const PerplexityRecord& r, double reference_perplexity);

// Records of DIR/*.json in index order; throws naming the file and key of a malformed one,
// or when DIR holds no reference (index 0).
std::vector<PerplexityRecord> read_perplexity_records(const std::string& dir);
// The report: what was measured (from the reference's context), then the table.
std::string perplexity_report(const std::vector<PerplexityRecord>& records);

}  // namespace qzo
