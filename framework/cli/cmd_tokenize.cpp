// `qzo tokenize`: text -> ids (or ids -> text with --decode) through a tokenizer.json, to see
// exactly what a model is fed; --stats measures encode throughput on a corpus file.
#include <chrono>
#include <climits>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "framework/cli/commands.h"
#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/tokenizer/tokenizer.h"

namespace qzo::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer;
  std::vector<std::string> inputs;  // text, or ids with --decode
  std::string file;
  bool decode = false;
  bool no_special = false;
  bool stats = false;
};

// Ids may come as separate arguments or as one whitespace-separated string.
std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || value < 0 || value > INT32_MAX)
      fail("tokenize --decode: '" + word + "' is not a token id (expected non-negative integers)");
    ids.push_back(static_cast<int32_t>(value));
  }
  return ids;
}

std::string read_input(const TokenizeOptions& o) {
  if (!o.file.empty()) return read_text_file(o.file);
  if (!o.inputs.empty()) {
    std::string joined;
    for (size_t i = 0; i < o.inputs.size(); ++i) joined += (i ? " " : "") + o.inputs[i];
    return joined;
  }
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

void run_tokenize(const TokenizeOptions& o) {
  const Tokenizer tokenizer = Tokenizer::from_file(o.tokenizer);
  const std::string input = read_input(o);
  if (o.decode) {
    const std::string text = tokenizer.decode(parse_ids(input), /*skip_special_tokens=*/o.no_special);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tokenizer.encode(input, /*add_special_tokens=*/!o.no_special);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string line;
  line.reserve(ids.size() * 7);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  if (o.stats)
    std::fprintf(stderr, "tokenize: %zu bytes -> %zu tokens (%.2f bytes/token) in %.3f s: %.2f MB/s\n",
                 input.size(), ids.size(), ids.empty() ? 0.0 : double(input.size()) / double(ids.size()), seconds,
                 seconds > 0 ? double(input.size()) / 1e6 / seconds : 0.0);
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Encode text to token ids, or decode ids to text, with a tokenizer.json");
  cmd->add_option("--tokenizer", options->tokenizer, "Hugging Face tokenizer.json (tokenizer_config.json beside it is read too)")
      ->required();
  auto* text = cmd->add_option("input", options->inputs, "Text to encode, or ids with --decode (default: read stdin)");
  cmd->add_option("--file", options->file, "Read the text (or ids) from this file")->excludes(text);
  cmd->add_flag("--decode", options->decode, "Decode ids to text instead of encoding");
  cmd->add_flag("--no-special", options->no_special,
                "Encode without the post-processor's special tokens (e.g. BOS); decode skipping special tokens");
  cmd->add_flag("--stats", options->stats, "Print token count and encode throughput to stderr");
  cmd->callback([options] { run_tokenize(*options); });
}

}  // namespace qzo::cli
