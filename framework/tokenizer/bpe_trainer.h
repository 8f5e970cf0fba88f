// Trains a GPT-2 style byte-level BPE tokenizer on a corpus and writes it in the Hugging
// Face format (tokenizer.json + tokenizer_config.json), so qzo's own default model ships
// a tokenizer that both qzo::Tokenizer and the HF libraries load.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qzo {

struct BpeTrainerOptions {
  int vocab_size = 8192;  // special tokens + 256 bytes + merges
  std::vector<std::string> special_tokens;  // ids 0..n-1, in this order
  int min_frequency = 2;  // a pair seen fewer times than this is never merged
  std::string bos_token;  // must be in special_tokens; "" = no BOS is prepended
  std::string eos_token;  // must be in special_tokens; "" = none
  int model_max_length = 1024;  // written to tokenizer_config.json
};

// A trained byte-level BPE model. Token strings use GPT-2's byte-to-unicode alphabet
// (a space is "Ġ"), exactly as they appear in tokenizer.json.
struct BpeModel {
  std::vector<std::string> vocab;  // id -> token
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
};

// The GPT-2 pre-tokenizer regex, applied with PCRE2 in UTF + UCP mode.
extern const char* const kGpt2PretokenizerPattern;

// GPT-2's reversible byte -> printable code point map, as UTF-8 strings.
const std::vector<std::string>& byte_level_alphabet();

// Counts how often each pre-token (as raw bytes) occurs in the documents, which must be
// valid UTF-8 (throws naming the first document that is not). Parallel over documents.
std::vector<std::pair<std::string, int64_t>> count_pretokens(const std::vector<std::string>& documents);

// Learns merges until the vocab reaches options.vocab_size or no pair occurs at least
// min_frequency times. Each step merges the most frequent pair; ties go to the
// lexicographically smallest (left token, right token). Deterministic: the result does not
// depend on thread count or document order.
BpeModel train_bpe(const std::vector<std::string>& documents, const BpeTrainerOptions& options);

// Writes out_dir/tokenizer.json and out_dir/tokenizer_config.json (creating out_dir).
// Each file is written to a temporary name and renamed, so no half-written file remains.
void write_hf_tokenizer(const BpeModel& model, const BpeTrainerOptions& options,
                        const std::string& out_dir);

void train_bpe_tokenizer(const std::vector<std::string>& documents, const BpeTrainerOptions& options,
                         const std::string& out_dir);

}  // namespace qzo
