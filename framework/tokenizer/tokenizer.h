// Hugging Face tokenizer.json: BPE with byte-level pre-tokenization (Llama-3, Qwen, GPT-2)
// and SentencePiece-style BPE with byte fallback (Llama-2), added/special tokens, and the
// post-processor's BOS/EOS. Ids equal those of the Hugging Face tokenizers library.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qzo {

class Tokenizer {
 public:
  // Reads tokenizer.json; tokenizer_config.json beside it (if present) supplies
  // bos_token / eos_token / add_bos_token. Errors name the file and the key.
  static Tokenizer from_file(const std::string& tokenizer_json_path);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // add_special_tokens applies the post-processor (e.g. Llama's leading BOS), like HF.
  std::vector<int32_t> encode(const std::string& text, bool add_special_tokens = true) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  int32_t vocab_size() const;           // model vocab + added tokens (max id + 1)
  int32_t bos_id() const;               // -1 when the tokenizer has none
  int32_t eos_id() const;               // -1 when the tokenizer has none
  std::optional<int32_t> token_to_id(const std::string& token) const;
  std::string id_to_token(int32_t id) const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qzo
