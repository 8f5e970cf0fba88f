// SAX parsing of tokenizer.json: a DOM for the small parts, flat vectors for vocab and merges.
#include "framework/tokenizer/tokenizer_json.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "framework/core/error.h"
#include "framework/tokenizer/json_fields.h"

namespace qzo::tok {
namespace {

using nlohmann::json;

std::string one_line(std::string message) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

// Builds the document like nlohmann's own DOM parser, except inside model.vocab (an object of
// token -> id) and model.merges (an array of "a b" strings or [a, b] pairs).
class TokenizerSax : public nlohmann::json_sax<json> {
 public:
  TokenizerSax(TokenizerJson& out, std::string path) : out_(out), path_(std::move(path)) {}

  const std::string& error() const { return error_; }

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::Vocab) return bad("model.vocab[" + shown(pending_token_) + "]: expected a non-negative integer id");
    return value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::Vocab) {
      if (v > static_cast<number_unsigned_t>(INT32_MAX))
        return bad("model.vocab[" + shown(pending_token_) + "]: id " + std::to_string(v) + " is too large");
      out_.bpe.vocab.emplace_back(std::move(pending_token_), static_cast<int64_t>(v));
      return true;
    }
    return value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override {
    if (mode_ == Mode::Vocab) return bad("model.vocab[" + shown(pending_token_) + "]: expected an integer id");
    return value(json(v));
  }
  bool string(string_t& v) override {
    if (mode_ == Mode::Merges) {
      std::pair<std::string, std::string> pair;
      if (!split_merge_string(v, pair))
        return bad("model.merges[" + std::to_string(out_.bpe.merges.size()) +
                   "]: expected \"left right\" with one space, got " + shown(v));
      out_.bpe.merges.push_back(std::move(pair));
      return true;
    }
    if (mode_ == Mode::MergePair) {
      pair_.push_back(std::move(v));
      return true;
    }
    if (mode_ == Mode::Vocab) return bad("model.vocab[" + shown(pending_token_) + "]: expected an integer id");
    return value(json(std::move(v)));
  }
  bool binary(binary_t&) override { return bad("unexpected binary value"); }

  bool key(string_t& k) override {
    if (mode_ == Mode::Vocab) {
      pending_token_ = std::move(k);
      return true;
    }
    last_key_ = k;
    slot_ = &(*stack_.back())[k];
    return true;
  }

  bool start_object(std::size_t) override {
    if (mode_ == Mode::Dom && at_model_field("vocab")) {
      mode_ = Mode::Vocab;
      return true;
    }
    if (mode_ != Mode::Dom) return bad(std::string(mode_name()) + ": unexpected object");
    return open(json::object());
  }
  bool end_object() override {
    if (mode_ == Mode::Vocab) {
      mode_ = Mode::Dom;
      return true;
    }
    stack_.pop_back();
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::Dom && at_model_field("merges")) {
      mode_ = Mode::Merges;
      return true;
    }
    if (mode_ == Mode::Merges) {
      mode_ = Mode::MergePair;
      pair_.clear();
      return true;
    }
    if (mode_ != Mode::Dom) return bad(std::string(mode_name()) + ": unexpected array");
    return open(json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::MergePair) {
      if (pair_.size() != 2)
        return bad("model.merges[" + std::to_string(out_.bpe.merges.size()) + "]: expected a [left, right] pair");
      out_.bpe.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
      mode_ = Mode::Merges;
      return true;
    }
    if (mode_ == Mode::Merges) {
      mode_ = Mode::Dom;
      return true;
    }
    stack_.pop_back();
    keys_.pop_back();
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = "invalid JSON: " + one_line(e.what());
    return false;
  }

 private:
  enum class Mode { Dom, Vocab, Merges, MergePair };

  const char* mode_name() const {
    return mode_ == Mode::Vocab ? "model.vocab" : "model.merges";
  }
  bool bad(const std::string& what) {
    if (error_.empty()) error_ = what;
    return false;
  }
  // True when the value about to start is root.model.<field>.
  bool at_model_field(const char* field) const {
    return stack_.size() == 2 && keys_[1] == "model" && stack_.back()->is_object() && last_key_ == field;
  }
  json* place(json v) {
    if (stack_.empty()) {
      out_.document = std::move(v);
      return &out_.document;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    *slot_ = std::move(v);
    return slot_;
  }
  bool value(json v) {
    if (mode_ != Mode::Dom) return bad(std::string(mode_name()) + ": unexpected value");
    place(std::move(v));
    return true;
  }
  bool open(json container) {
    const std::string key = !stack_.empty() && stack_.back()->is_object() ? last_key_ : std::string();
    stack_.push_back(place(std::move(container)));
    keys_.push_back(key);
    return true;
  }

  TokenizerJson& out_;
  std::string path_;
  std::string error_;
  Mode mode_ = Mode::Dom;
  std::vector<json*> stack_;
  std::vector<std::string> keys_;  // the key under which each open container sits
  std::string last_key_;
  json* slot_ = nullptr;
  std::string pending_token_;
  std::vector<std::string> pair_;
};

}  // namespace

bool split_merge_string(const std::string& merge, std::pair<std::string, std::string>& pair) {
  const size_t space = merge.find(' ');
  if (space == std::string::npos || merge.find(' ', space + 1) != std::string::npos) return false;
  pair.first.assign(merge, 0, space);
  pair.second.assign(merge, space + 1, std::string::npos);
  return true;
}

TokenizerJson parse_tokenizer_json(const std::string& path) {
  // Read in one call: a stream copy costs more than the parse for a 10 MB file.
  std::string text;
  {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) fail(path + ": cannot read file");
    if (std::fseek(file.get(), 0, SEEK_END) != 0) fail(path + ": cannot read file");
    const long size = std::ftell(file.get());
    if (size < 0 || std::fseek(file.get(), 0, SEEK_SET) != 0) fail(path + ": cannot read file");
    text.resize(static_cast<size_t>(size));
    if (std::fread(text.data(), 1, text.size(), file.get()) != text.size()) fail(path + ": cannot read file");
  }
  TokenizerJson out;
  TokenizerSax sax(out, path);
  bool ok = false;
  try {
    ok = json::sax_parse(text, &sax);
  } catch (const json::exception& e) {
    fail(path + ": invalid JSON: " + one_line(e.what()));
  }
  if (!ok) fail(path + ": " + (sax.error().empty() ? std::string("invalid JSON") : sax.error()));
  return out;
}

BpeParts bpe_parts_from_json(const json& model, const std::string& where) {
  BpeParts parts;
  const auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object()) fail(where + ": model.vocab must be an object of token -> id");
  for (const auto& [token, id] : vocab->items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      fail(where + ": model.vocab[" + shown(token) + "]: expected a non-negative integer id");
    parts.vocab.emplace_back(token, id.get<int64_t>());
  }
  const auto merges = model.find("merges");
  if (merges == model.end() || !merges->is_array()) fail(where + ": model.merges must be an array");
  for (size_t i = 0; i < merges->size(); ++i) {
    const json& m = (*merges)[i];
    std::pair<std::string, std::string> pair;
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
      pair = {m[0].get<std::string>(), m[1].get<std::string>()};
    else if (!m.is_string() || !split_merge_string(m.get<std::string>(), pair))
      fail(where + ": model.merges[" + std::to_string(i) + "]: expected a \"left right\" string or a [left, right] pair");
    parts.merges.push_back(std::move(pair));
  }
  return parts;
}

}  // namespace qzo::tok
