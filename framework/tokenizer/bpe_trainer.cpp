// Byte-level BPE training: pre-tokens are counted once, then each merge touches only the
// words that contain the merged pair (an index from pair to words), and the best pair
// comes from a max-heap with lazily discarded stale entries. Cost per merge is
// proportional to the words it changes, not to the corpus.
#include "framework/tokenizer/bpe_trainer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"

namespace qzo {

const char* const kGpt2PretokenizerPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

using TokenId = int32_t;
using PairKey = uint64_t;  // (left id << 32) | right id

PairKey pair_key(TokenId a, TokenId b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
TokenId left_of(PairKey p) { return static_cast<TokenId>(p >> 32); }
TokenId right_of(PairKey p) { return static_cast<TokenId>(p & 0xFFFFFFFFu); }

struct CodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

std::unique_ptr<pcre2_code, CodeDeleter> compile_pretokenizer() {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2PretokenizerPattern),
                                   PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    fail(std::string("bpe_trainer: GPT-2 pre-tokenizer regex does not compile: ") +
         reinterpret_cast<const char*>(message));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is absent
  return std::unique_ptr<pcre2_code, CodeDeleter>(code);
}

// Adds every pre-token of one document to counts; returns false on invalid UTF-8.
bool count_document(const pcre2_code* code, pcre2_match_data* match, const std::string& doc,
                    std::unordered_map<std::string, int64_t>& counts) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(doc.data());
  PCRE2_SIZE offset = 0;
  uint32_t flags = 0;  // the first match validates the whole subject's UTF-8, later ones skip it
  while (offset < doc.size()) {
    const int rc = pcre2_match(code, subject, doc.size(), offset, flags, match, nullptr);
    flags = PCRE2_NO_UTF_CHECK;
    if (rc == PCRE2_ERROR_NOMATCH) {
      ++counts[doc.substr(offset)];
      break;
    }
    if (rc < 0) return false;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
    if (ov[0] > offset) ++counts[doc.substr(offset, ov[0] - offset)];  // text between matches stays a piece
    if (ov[1] == ov[0]) {  // cannot happen with this pattern; never loop forever
      offset = ov[1] + 1;
      continue;
    }
    ++counts[doc.substr(ov[0], ov[1] - ov[0])];
    offset = ov[1];
  }
  return true;
}

void check_options(const BpeTrainerOptions& options) {
  std::unordered_set<std::string> seen;
  for (const auto& t : options.special_tokens) {
    QZO_CHECK(!t.empty(), "bpe_trainer: special_tokens contains an empty string");
    QZO_CHECK(seen.insert(t).second, "bpe_trainer: special token \"" + t + "\" is listed twice");
  }
  for (const auto* role : {&options.bos_token, &options.eos_token})
    QZO_CHECK(role->empty() || seen.count(*role),
              "bpe_trainer: token \"" + *role + "\" (bos_token/eos_token) is not in special_tokens");
  const int minimum = static_cast<int>(options.special_tokens.size()) + 256;
  QZO_CHECK(options.vocab_size >= minimum, "bpe_trainer: vocab_size " + std::to_string(options.vocab_size) +
                                               " is below special tokens + 256 bytes = " + std::to_string(minimum));
  QZO_CHECK(options.min_frequency >= 1, "bpe_trainer: min_frequency must be >= 1, got " +
                                            std::to_string(options.min_frequency));
  QZO_CHECK(options.model_max_length >= 1, "bpe_trainer: model_max_length must be >= 1");
}

// Heap entry: a pair and its count when pushed; stale once the live count differs.
struct Candidate {
  int64_t count;
  PairKey pair;
};

class Merger {
 public:
  Merger(std::vector<std::string>& vocab, std::unordered_map<std::string, TokenId>& ids,
         std::vector<std::vector<TokenId>>&& words, std::vector<int64_t>&& weights)
      : vocab_(vocab), ids_(ids), words_(std::move(words)), weights_(std::move(weights)),
        heap_(Order{&vocab_}) {
    for (size_t w = 0; w < words_.size(); ++w) {
      const auto& s = words_[w];
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const PairKey p = pair_key(s[i], s[i + 1]);
        counts_[p] += weights_[w];
        add_where(p, static_cast<int32_t>(w));
      }
    }
    for (const auto& [p, c] : counts_) heap_.push({c, p});
  }

  void run(const BpeTrainerOptions& options, std::vector<std::pair<std::string, std::string>>& merges) {
    while (static_cast<int>(vocab_.size()) < options.vocab_size && !heap_.empty()) {
      const Candidate top = heap_.top();
      heap_.pop();
      const auto live = counts_.find(top.pair);
      if (live == counts_.end() || live->second != top.count) continue;  // stale
      if (top.count < options.min_frequency) break;
      merge(top.pair, merges);
    }
  }

 private:
  // Max-heap on count; among equal counts the lexicographically smallest pair wins.
  struct Order {
    const std::vector<std::string>* vocab;
    bool operator()(const Candidate& x, const Candidate& y) const {
      if (x.count != y.count) return x.count < y.count;
      const int left = (*vocab)[left_of(x.pair)].compare((*vocab)[left_of(y.pair)]);
      if (left != 0) return left > 0;
      return (*vocab)[right_of(x.pair)] > (*vocab)[right_of(y.pair)];
    }
  };

  void add_where(PairKey p, int32_t word) {
    auto& list = where_[p];
    if (list.empty() || list.back() != word) list.push_back(word);
  }

  void merge(PairKey pair, std::vector<std::pair<std::string, std::string>>& merges) {
    const TokenId a = left_of(pair), b = right_of(pair);
    merges.emplace_back(vocab_[a], vocab_[b]);
    std::string merged = vocab_[a] + vocab_[b];
    TokenId c;
    if (const auto it = ids_.find(merged); it != ids_.end()) {
      c = it->second;  // the same string was already built by another merge path
    } else {
      c = static_cast<TokenId>(vocab_.size());
      ids_.emplace(merged, c);
      vocab_.push_back(std::move(merged));
    }
    std::vector<int32_t> affected = std::move(where_[pair]);
    where_.erase(pair);
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());

    delta_.clear();
    for (const int32_t w : affected) {
      std::vector<TokenId>& s = words_[w];
      const int64_t weight = weights_[w];
      bool present = false;
      for (size_t i = 0; i + 1 < s.size() && !present; ++i) present = s[i] == a && s[i + 1] == b;
      if (!present) continue;  // an old index entry; the pair left this word earlier
      for (size_t i = 0; i + 1 < s.size(); ++i) delta_[pair_key(s[i], s[i + 1])] -= weight;
      std::vector<TokenId> out;
      out.reserve(s.size());
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          out.push_back(c);
          ++i;
        } else {
          out.push_back(s[i]);
        }
      }
      s = std::move(out);
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const PairKey p = pair_key(s[i], s[i + 1]);
        delta_[p] += weight;
        if (s[i] == c || s[i + 1] == c) add_where(p, w);
      }
    }
    // Apply net changes in a fixed order so the heap (and so tie-breaking) is reproducible.
    changed_.clear();
    for (const auto& [p, d] : delta_)
      if (d != 0) changed_.push_back(p);
    std::sort(changed_.begin(), changed_.end());
    for (const PairKey p : changed_) {
      int64_t& count = counts_[p];
      count += delta_[p];
      if (count <= 0) {
        counts_.erase(p);
      } else {
        heap_.push({count, p});
      }
    }
  }

  std::vector<std::string>& vocab_;
  std::unordered_map<std::string, TokenId>& ids_;
  std::vector<std::vector<TokenId>> words_;
  std::vector<int64_t> weights_;
  std::unordered_map<PairKey, int64_t> counts_;
  std::unordered_map<PairKey, std::vector<int32_t>> where_;
  std::priority_queue<Candidate, std::vector<Candidate>, Order> heap_;
  std::unordered_map<PairKey, int64_t> delta_;
  std::vector<PairKey> changed_;
};

void write_file_atomically(const std::filesystem::path& path, const std::string& content) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(tmp.string() + ": cannot open for writing");
    out << content;
    out.flush();
    if (!out) fail(tmp.string() + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail(path.string() + ": cannot rename from " + tmp.string() + ": " + ec.message());
}

// One added token's flags; with_id gives the tokenizer.json form, which leads with "id".
nlohmann::ordered_json added_token_entry(const std::string& content, int32_t with_id = -1) {
  nlohmann::ordered_json t;
  if (with_id >= 0) t["id"] = with_id;
  t["content"] = content;
  t["single_word"] = false;
  t["lstrip"] = false;
  t["rstrip"] = false;
  t["normalized"] = false;
  t["special"] = true;
  return t;
}

nlohmann::ordered_json byte_level_component(const char* type) {
  nlohmann::ordered_json j;
  j["type"] = type;
  j["add_prefix_space"] = false;
  j["trim_offsets"] = true;
  j["use_regex"] = true;
  return j;
}

nlohmann::ordered_json bos_template(const std::string& bos, int32_t bos_id) {
  using J = nlohmann::ordered_json;
  auto special = [&](int type_id) { return J{{"SpecialToken", J{{"id", bos}, {"type_id", type_id}}}}; };
  auto sequence = [](const char* id, int type_id) { return J{{"Sequence", J{{"id", id}, {"type_id", type_id}}}}; };
  J j;
  j["type"] = "TemplateProcessing";
  j["single"] = J::array({special(0), sequence("A", 0)});
  j["pair"] = J::array({special(0), sequence("A", 0), special(1), sequence("B", 1)});
  j["special_tokens"] = J{{bos, J{{"id", bos}, {"ids", J::array({bos_id})}, {"tokens", J::array({bos})}}}};
  return j;
}

}  // namespace

const std::vector<std::string>& byte_level_alphabet() {
  static const std::vector<std::string> alphabet = [] {
    // Printable latin-1 bytes map to themselves; the other 68 bytes take U+0100.. in order.
    std::vector<std::string> table(256);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const int cp = printable ? b : 256 + next++;
      std::string s;
      if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
      } else {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      table[b] = s;
    }
    return table;
  }();
  return alphabet;
}

std::vector<std::pair<std::string, int64_t>> count_pretokens(const std::vector<std::string>& documents) {
  const auto code = compile_pretokenizer();
  std::unordered_map<std::string, int64_t> total;
  long first_invalid = -1;
#pragma omp parallel
  {
    std::unordered_map<std::string, int64_t> local;
    std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(
        pcre2_match_data_create_from_pattern(code.get(), nullptr));
    long local_invalid = -1;
#pragma omp for schedule(dynamic, 64) nowait
    for (long i = 0; i < static_cast<long>(documents.size()); ++i)
      if (!count_document(code.get(), match.get(), documents[i], local) && local_invalid < 0) local_invalid = i;
#pragma omp critical(qzo_bpe_count_merge)
    {
      for (auto& [word, n] : local) total[word] += n;
      if (local_invalid >= 0 && (first_invalid < 0 || local_invalid < first_invalid)) first_invalid = local_invalid;
    }
  }
  if (first_invalid >= 0)
    fail("bpe_trainer: document " + std::to_string(first_invalid) + " is not valid UTF-8");
  std::vector<std::pair<std::string, int64_t>> words(total.begin(), total.end());
  std::sort(words.begin(), words.end());
  return words;
}

BpeModel train_bpe(const std::vector<std::string>& documents, const BpeTrainerOptions& options) {
  check_options(options);
  BpeModel model;
  std::unordered_map<std::string, TokenId> ids;
  auto add_token = [&](const std::string& token) {
    QZO_CHECK(ids.emplace(token, static_cast<TokenId>(model.vocab.size())).second,
              "bpe_trainer: special token \"" + token + "\" collides with a byte token");
    model.vocab.push_back(token);
  };
  for (const auto& t : options.special_tokens) add_token(t);
  // Bytes follow the specials in code point order of their printable form.
  std::vector<int> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[b] = b;
  const auto& alphabet = byte_level_alphabet();
  auto code_point = [&](int b) {
    const std::string& s = alphabet[b];
    return s.size() == 1 ? static_cast<int>(static_cast<unsigned char>(s[0]))
                         : ((static_cast<unsigned char>(s[0]) & 0x1F) << 6) | (static_cast<unsigned char>(s[1]) & 0x3F);
  };
  std::sort(bytes.begin(), bytes.end(), [&](int x, int y) { return code_point(x) < code_point(y); });
  std::vector<TokenId> byte_id(256);
  for (int b : bytes) {
    byte_id[b] = static_cast<TokenId>(model.vocab.size());
    add_token(alphabet[b]);
  }

  const auto counted = count_pretokens(documents);
  std::vector<std::vector<TokenId>> words;
  std::vector<int64_t> weights;
  words.reserve(counted.size());
  weights.reserve(counted.size());
  for (const auto& [word, n] : counted) {
    if (word.size() < 2) continue;  // a single byte has no pair to merge
    std::vector<TokenId> s(word.size());
    for (size_t i = 0; i < word.size(); ++i) s[i] = byte_id[static_cast<unsigned char>(word[i])];
    words.push_back(std::move(s));
    weights.push_back(n);
  }
  Merger merger(model.vocab, ids, std::move(words), std::move(weights));
  merger.run(options, model.merges);
  return model;
}

void write_hf_tokenizer(const BpeModel& model, const BpeTrainerOptions& options, const std::string& out_dir) {
  check_options(options);
  using J = nlohmann::ordered_json;
  const int32_t n_special = static_cast<int32_t>(options.special_tokens.size());
  for (int32_t i = 0; i < n_special; ++i)
    QZO_CHECK(i < static_cast<int32_t>(model.vocab.size()) && model.vocab[i] == options.special_tokens[i],
              "write_hf_tokenizer: vocab id " + std::to_string(i) + " is not special token \"" +
                  options.special_tokens[i] + "\" (train with the same options)");
  auto id_of = [&](const std::string& token) {
    return static_cast<int32_t>(std::find(options.special_tokens.begin(), options.special_tokens.end(), token) -
                                options.special_tokens.begin());
  };

  J tokenizer;
  tokenizer["version"] = "1.0";
  tokenizer["truncation"] = nullptr;
  tokenizer["padding"] = nullptr;
  J added = J::array();
  for (int32_t i = 0; i < n_special; ++i) added.push_back(added_token_entry(options.special_tokens[i], i));
  tokenizer["added_tokens"] = added;
  tokenizer["normalizer"] = nullptr;
  tokenizer["pre_tokenizer"] = byte_level_component("ByteLevel");
  tokenizer["post_processor"] =
      options.bos_token.empty() ? J(nullptr) : bos_template(options.bos_token, id_of(options.bos_token));
  tokenizer["decoder"] = byte_level_component("ByteLevel");
  J bpe;
  bpe["type"] = "BPE";
  bpe["dropout"] = nullptr;
  bpe["unk_token"] = nullptr;
  bpe["continuing_subword_prefix"] = nullptr;
  bpe["end_of_word_suffix"] = nullptr;
  bpe["fuse_unk"] = false;
  bpe["byte_fallback"] = false;
  bpe["ignore_merges"] = false;
  J vocab = J::object();
  for (size_t id = 0; id < model.vocab.size(); ++id) vocab[model.vocab[id]] = id;
  bpe["vocab"] = std::move(vocab);
  // "left right" strings: byte-level tokens never contain a space, and every version of
  // the HF libraries reads this form.
  J merges = J::array();
  for (const auto& [left, right] : model.merges) merges.push_back(left + " " + right);
  bpe["merges"] = std::move(merges);
  tokenizer["model"] = std::move(bpe);

  J config;
  config["add_bos_token"] = !options.bos_token.empty();
  config["add_eos_token"] = false;
  J decoder = J::object();
  for (int32_t i = 0; i < n_special; ++i) decoder[std::to_string(i)] = added_token_entry(options.special_tokens[i]);
  config["added_tokens_decoder"] = decoder;
  config["bos_token"] = options.bos_token.empty() ? J(nullptr) : J(options.bos_token);
  config["eos_token"] = options.eos_token.empty() ? J(nullptr) : J(options.eos_token);
  config["clean_up_tokenization_spaces"] = false;
  config["model_max_length"] = options.model_max_length;
  config["tokenizer_class"] = "PreTrainedTokenizerFast";

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) fail(out_dir + ": cannot create tokenizer folder: " + ec.message());
  write_file_atomically(std::filesystem::path(out_dir) / "tokenizer.json", tokenizer.dump(2) + "\n");
  write_file_atomically(std::filesystem::path(out_dir) / "tokenizer_config.json", config.dump(2) + "\n");
}

void train_bpe_tokenizer(const std::vector<std::string>& documents, const BpeTrainerOptions& options,
                         const std::string& out_dir) {
  write_hf_tokenizer(train_bpe(documents, options), options, out_dir);
}

}  // namespace qzo
