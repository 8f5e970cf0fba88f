// The Hugging Face tokenizer.json pipeline: added tokens -> normalizer -> pre-tokenizer -> BPE
// -> post-processor, and back through the decoder. The components live in their own files.
#include "framework/tokenizer/tokenizer.h"

#include <algorithm>
#include <unordered_map>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/tokenizer/added_tokens.h"
#include "framework/tokenizer/bpe_model.h"
#include "framework/tokenizer/decoder.h"
#include "framework/tokenizer/json_fields.h"
#include "framework/tokenizer/normalizer.h"
#include "framework/tokenizer/post_processor.h"
#include "framework/tokenizer/pre_tokenizer.h"
#include "framework/tokenizer/tokenizer_json.h"
#include "framework/tokenizer/unicode_text.h"

namespace qzo {

using tok::json;
using tok::JsonPlace;

namespace tok {

// Everything a loaded tokenizer holds; Tokenizer::Impl is this under the header's private name.
struct TokenizerCore {
  std::string path;
  std::unique_ptr<tok::BpeModel> model;
  std::unique_ptr<tok::Normalizer> normalizer;
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;
  std::unique_ptr<tok::PostProcessor> post_processor;
  std::unique_ptr<tok::Decoder> decoder;

  std::vector<tok::AddedToken> added;
  std::unordered_map<int32_t, size_t> added_by_id;       // id -> index into added
  std::unordered_map<std::string, int32_t> added_by_text;
  tok::AddedTokenMatcher raw_matcher;         // tokens matched in the text as written
  tok::AddedTokenMatcher normalized_matcher;  // tokens matched after normalization

  int32_t bos = -1, eos = -1;
  int32_t vocab_size = 0;

  std::optional<int32_t> token_to_id(const std::string& token) const {
    if (const auto it = added_by_text.find(token); it != added_by_text.end()) return it->second;
    return model->token_to_id(token);
  }

  void encode_plain(std::string_view text, bool at_text_start, std::vector<int32_t>& ids) const {
    thread_local tok::Words words;
    words.reset(text);
    if (pre_tokenizer) pre_tokenizer->pre_tokenize(words, at_text_start);
    for (size_t i = 0; i < words.spans.size(); ++i) model->encode_word(words.word(i), ids);
  }
};

}  // namespace tok

struct Tokenizer::Impl : tok::TokenizerCore {};

namespace {

std::string one_line(std::string message) {
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

json parse_json_file(const std::string& path) {
  const std::string text = read_text_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail(path + ": invalid JSON: " + one_line(e.what()));
  }
}

std::vector<tok::AddedToken> read_added_tokens(const json& root, const JsonPlace& place) {
  std::vector<tok::AddedToken> tokens;
  const auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return tokens;
  if (!it->is_array()) place.fail("expected an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    const JsonPlace at = place.at(i);
    tok::AddedToken t;
    t.content = tok::required_string(item, "content", at);
    const json& id = tok::required_field(item, "id", at);
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      at.at("id").fail("expected a non-negative integer");
    t.id = id.get<int32_t>();
    t.special = tok::bool_or(item, "special", false, at);
    t.single_word = tok::bool_or(item, "single_word", false, at);
    t.lstrip = tok::bool_or(item, "lstrip", false, at);
    t.rstrip = tok::bool_or(item, "rstrip", false, at);
    t.normalized = tok::bool_or(item, "normalized", !t.special, at);  // Hugging Face's default
    if (t.content.empty()) at.at("content").fail("an added token cannot be empty");
    if (!tok::is_valid_utf8(t.content)) at.at("content").fail("not valid UTF-8");
    tokens.push_back(std::move(t));
  }
  return tokens;
}

// bos_token / eos_token of tokenizer_config.json: a string, {"content": ...}, or null.
int32_t config_token_id(const json& config, const char* key, const std::string& config_path,
                        const tok::TokenizerCore& impl) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return -1;
  std::string token;
  if (it->is_string()) {
    token = it->get<std::string>();
  } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    token = (*it)["content"].get<std::string>();
  } else {
    fail(config_path + ": " + key + " must be a string, {\"content\": ...} or null");
  }
  const auto id = impl.token_to_id(token);
  if (!id) fail(config_path + ": " + key + " " + tok::shown(token) + " is not in the vocabulary of " + impl.path);
  return *id;
}

void build(const std::string& path, tok::TokenizerCore* impl) {
  const tok::TokenizerJson parsed = tok::parse_tokenizer_json(path);
  const json& root = parsed.document;
  if (!root.is_object()) fail(path + ": expected a JSON object at the top level");
  impl->path = path;

  const JsonPlace model_place{path, "model"};
  const json& model = tok::required_field(root, "model", JsonPlace{path, "(top level)"});
  if (!model.is_object()) model_place.fail("expected an object");
  std::string model_type = tok::string_or(model, "type", "", model_place);
  if (model_type.empty() && model.contains("merges")) model_type = "BPE";  // files older than the "type" key
  if (model_type != "BPE")
    fail(path + ": unsupported model type " + tok::shown(model_type) + " (qzo supports BPE tokenizers)");
  // The parser lifts a well-formed vocab and merges out of the document, leaving null behind.
  for (const char* field : {"vocab", "merges"}) {
    const auto it = model.find(field);
    if (it == model.end()) model_place.fail(std::string("missing field '") + field + "'");
    if (!it->is_null())
      model_place.at(field).fail(std::string("expected ") + (field[0] == 'v' ? "an object of token -> id" : "an array of merges"));
  }
  impl->model = tok::BpeModel::from_parts(model, parsed.bpe, path);

  const auto component = [&](const char* key) -> const json& {
    static const json null_json;
    const auto it = root.find(key);
    return it == root.end() ? null_json : *it;
  };
  impl->normalizer = tok::make_normalizer(component("normalizer"), JsonPlace{path, "normalizer"});
  impl->pre_tokenizer = tok::make_pre_tokenizer(component("pre_tokenizer"), JsonPlace{path, "pre_tokenizer"});
  impl->post_processor = tok::make_post_processor(component("post_processor"), JsonPlace{path, "post_processor"});
  impl->decoder = tok::make_decoder(component("decoder"), JsonPlace{path, "decoder"});

  impl->added = read_added_tokens(root, JsonPlace{path, "added_tokens"});
  int32_t max_id = impl->model->max_id();
  std::vector<tok::AddedToken> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (size_t i = 0; i < impl->added.size(); ++i) {
    const tok::AddedToken& t = impl->added[i];
    impl->added_by_id[t.id] = i;
    impl->added_by_text[t.content] = t.id;
    max_id = std::max(max_id, t.id);
    if (t.normalized && impl->normalizer) {
      // Matched in normalized text, so it is looked for in its own normalized form.
      std::string pattern = t.content;
      impl->normalizer->normalize(pattern);
      normalized.push_back(t);
      normalized_patterns.push_back(std::move(pattern));
    } else {
      raw.push_back(t);
      raw_patterns.push_back(t.content);
    }
  }
  impl->raw_matcher.build(raw, raw_patterns);
  impl->normalized_matcher.build(normalized, normalized_patterns);
  impl->vocab_size = max_id + 1;

  const size_t slash = path.find_last_of('/');
  const std::string config_path =
      (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + "tokenizer_config.json";
  if (file_exists(config_path)) {
    const json config = parse_json_file(config_path);
    if (!config.is_object()) fail(config_path + ": expected a JSON object at the top level");
    impl->bos = config_token_id(config, "bos_token", config_path, *impl);
    impl->eos = config_token_id(config, "eos_token", config_path, *impl);
  }
}

}  // namespace

Tokenizer Tokenizer::from_file(const std::string& tokenizer_json_path) {
  try {
    auto impl = std::make_unique<Impl>();
    build(tokenizer_json_path, impl.get());
    return Tokenizer(std::move(impl));
  } catch (const json::exception& e) {  // a key of the wrong JSON type deep inside a component
    fail(tokenizer_json_path + ": " + one_line(e.what()));
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(const std::string& input, bool add_special_tokens) const {
  std::string repaired;
  std::string_view text = input;
  if (!tok::is_valid_utf8(text)) {
    repaired = tok::to_valid_utf8(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  thread_local std::vector<tok::TextPiece> pieces, normalized_pieces;
  thread_local std::string normalized;
  impl_->raw_matcher.split(text, pieces);
  for (const tok::TextPiece& piece : pieces) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      continue;
    }
    std::string_view part = text.substr(piece.begin, piece.end - piece.begin);
    if (impl_->normalizer) {
      normalized.assign(part.data(), part.size());
      impl_->normalizer->normalize(normalized);
      part = normalized;
    }
    if (impl_->normalized_matcher.empty()) {
      impl_->encode_plain(part, piece.begin == 0, ids);
      continue;
    }
    impl_->normalized_matcher.split(part, normalized_pieces);
    for (const tok::TextPiece& sub : normalized_pieces) {
      if (sub.id >= 0)
        ids.push_back(sub.id);
      else
        impl_->encode_plain(part.substr(sub.begin, sub.end - sub.begin), piece.begin == 0 && sub.begin == 0, ids);
    }
  }
  if (impl_->post_processor) impl_->post_processor->process(ids, add_special_tokens);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    if (const auto it = impl_->added_by_id.find(id); it != impl_->added_by_id.end()) {
      const tok::AddedToken& t = impl_->added[it->second];
      if (!(skip_special_tokens && t.special)) tokens.push_back(t.content);
    } else if (const std::string* token = impl_->model->id_to_token(id)) {
      tokens.push_back(*token);
    } else {
      fail("decode: token id " + std::to_string(id) + " is not in the vocabulary of " + impl_->path +
           " (vocab size " + std::to_string(impl_->vocab_size) + ")");
    }
  }
  std::string text;
  if (impl_->decoder) {
    impl_->decoder->decode_chain(tokens);
    for (const std::string& t : tokens) text += t;
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
  }
  return text;
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }

std::optional<int32_t> Tokenizer::token_to_id(const std::string& token) const { return impl_->token_to_id(token); }

std::string Tokenizer::id_to_token(int32_t id) const {
  if (const auto it = impl_->added_by_id.find(id); it != impl_->added_by_id.end()) return impl_->added[it->second].content;
  if (const std::string* token = impl_->model->id_to_token(id)) return *token;
  fail("token id " + std::to_string(id) + " is not in the vocabulary of " + impl_->path);
}

}  // namespace qzo
