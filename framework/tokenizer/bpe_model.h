// The BPE model of tokenizer.json: vocabulary, ranked merges, byte fallback, unk fusing and
// ignore_merges, applied to one pre-tokenized word at a time with a shared word cache.
// Matches the merge order of Hugging Face tokenizers (lowest rank first, leftmost on ties).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "framework/tokenizer/tokenizer_json.h"

namespace qzo::tok {

class BpeModel {
 public:
  // `model` gives the options (byte_fallback, unk_token, ...); `parts` the vocab and merges.
  // `where` names the file in errors ("<path>: model.merges[12] ...").
  static std::unique_ptr<BpeModel> from_parts(const nlohmann::json& model, const BpeParts& parts,
                                              const std::string& where);
  static std::unique_ptr<BpeModel> from_json(const nlohmann::json& model, const std::string& where);
  ~BpeModel();
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // Appends the ids of one word. Thread-safe.
  void encode_word(std::string_view word, std::vector<int32_t>& ids) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(int32_t id) const;  // nullptr when the id has no token
  int32_t max_id() const { return static_cast<int32_t>(tokens_.size()) - 1; }

  // The two merge loops, exposed so that tests can check that they agree: a rescanning loop
  // for short words and a heap for long ones (SentencePiece-style files feed whole texts).
  void merge_by_scan(std::vector<int32_t>& symbols) const;
  void merge_by_heap(std::vector<int32_t>& symbols) const;
  // The word's symbols before any merge (characters, byte-fallback bytes, unk).
  void initial_symbols(std::string_view word, std::vector<int32_t>& symbols) const;

 private:
  BpeModel();
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  const Merge* find_merge(int32_t left, int32_t right) const;
  void merge(std::vector<int32_t>& symbols) const;

  // Vocabulary: id -> token, and an open-addressing table token -> id over it.
  std::vector<std::string> tokens_;
  std::vector<uint8_t> has_token_;
  struct TokenSlot {
    int32_t id;    // -1 when empty
    uint32_t tag;  // high hash bits: most mismatches are rejected without comparing text
  };
  std::vector<TokenSlot> token_slots_;
  size_t token_mask_ = 0;

  // Merges: open-addressing table (left << 32 | right) -> Merge.
  struct MergeSlot {
    uint64_t key;
    Merge merge;
  };
  std::vector<MergeSlot> merge_slots_;
  size_t merge_mask_ = 0;

  int32_t unk_id_ = -1;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  int32_t byte_ids_[256];  // <0xNN> tokens for byte fallback, -1 when absent

  struct WordCache;
  std::unique_ptr<WordCache> cache_;
};

}  // namespace qzo::tok
