// Loading and splitting the SpamAssassin corpus. Loading is parallel over files (OpenMP)
// but writes each result to its sorted slot, so the output never depends on scheduling.
#include "framework/data/spam_assassin.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/data/email_text.h"

namespace qzo {
namespace {

struct GroupSpec {
  const char* name;
  bool spam;
};
constexpr GroupSpec kGroups[] = {{"easy-ham-1", false}, {"easy-ham-2", false}, {"hard-ham-1", false},
                                 {"spam-1", true},      {"spam-2", true}};

struct SourceFile {
  std::string key, group, path;
  bool spam = false;
  bool json = false;
};

// Whole-file read with one allocation; iostreams triple the load time of the corpus.
std::string read_file_bytes(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail(path + ": cannot open email file");
  std::string bytes;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f.get())) > 0) bytes.append(buffer, n);
  if (std::ferror(f.get())) fail(path + ": read error");
  return bytes;
}

std::string raw_message(const SourceFile& file) {
  const std::string content = read_file_bytes(file.path);
  if (!file.json) return content;
  const auto doc = nlohmann::json::parse(content, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("text") || !doc["text"].is_string())
    fail(file.path + ": expected a JSON object with a string \"text\" (the raw email)");
  return doc["text"].get<std::string>();
}

// One source per "<id>.<md5>" stem; the .txt holds the original bytes, while the .json
// twin's text lost every non-UTF-8 byte to U+FFFD.
std::vector<SourceFile> list_sources(const std::string& package_dir) {
  namespace fs = std::filesystem;
  std::vector<SourceFile> files;
  for (const GroupSpec& group : kGroups) {
    const fs::path dir = fs::path(package_dir) / "data" / group.name;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      fail(dir.string() + ": spam-assassin group folder is missing (run launch/setup.sh)");
    std::map<std::string, SourceFile> by_id;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      const std::string ext = entry.path().extension().string();
      if (ext != ".txt" && ext != ".json") continue;
      const std::string id = name.substr(0, name.find('.'));
      SourceFile& file = by_id[id];
      if (!file.path.empty() && !file.json) continue;  // a .txt already wins
      file = {std::string(group.name) + "/" + id, group.name, entry.path().string(), group.spam,
              ext == ".json"};
    }
    if (by_id.empty()) fail(dir.string() + ": no .txt or .json emails found");
    for (auto& [id, file] : by_id) files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.key < b.key; });
  return files;
}

}  // namespace

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::vector<Email> load_spam_assassin(const std::string& package_dir) {
  const std::vector<SourceFile> files = list_sources(package_dir);
  std::vector<Email> emails(files.size());
  std::vector<std::string> errors(files.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (long i = 0; i < static_cast<long>(files.size()); ++i) {
    try {
      const SourceFile& file = files[i];
      EmailText text = clean_email(raw_message(file));
      emails[i] = {file.key, file.group, file.spam, std::move(text.subject), std::move(text.body)};
    } catch (const std::exception& e) {  // exceptions must not cross the OpenMP region
      errors[i] = e.what();
    }
  }
  for (const std::string& error : errors)
    if (!error.empty()) fail(error);
  return emails;
}

SpamSplit split_spam_assassin(const std::vector<Email>& all, int heldout_per_class) {
  QZO_CHECK(heldout_per_class >= 0, "split_spam_assassin: heldout_per_class must be >= 0, got " +
                                        std::to_string(heldout_per_class));
  std::unordered_set<std::string> heldout_keys;
  for (const bool spam : {false, true}) {
    std::vector<std::pair<uint64_t, const std::string*>> ranked;
    for (const Email& e : all)
      if (e.spam == spam) ranked.push_back({fnv1a64(e.key), &e.key});
    if (static_cast<int>(ranked.size()) < heldout_per_class)
      fail("split_spam_assassin: asked for " + std::to_string(heldout_per_class) + " held-out " +
           (spam ? "spam" : "ham") + " emails but the corpus has " + std::to_string(ranked.size()));
    std::sort(ranked.begin(), ranked.end(),
              [](const auto& a, const auto& b) { return a.first != b.first ? a.first < b.first : *a.second < *b.second; });
    for (int i = 0; i < heldout_per_class; ++i) heldout_keys.insert(*ranked[i].second);
  }
  SpamSplit split;
  std::unordered_set<std::string> heldout_bodies;
  for (const Email& e : all)
    if (heldout_keys.count(e.key)) {
      split.heldout.push_back(e);
      if (!e.body.empty()) heldout_bodies.insert(e.body);
    }
  for (const Email& e : all) {
    if (heldout_keys.count(e.key)) continue;
    if (heldout_bodies.count(e.body))
      split.dropped_duplicates.push_back(e.key);
    else
      split.pretrain.push_back(e);
  }
  auto by_key = [](const Email& a, const Email& b) { return a.key < b.key; };
  std::sort(split.heldout.begin(), split.heldout.end(), by_key);
  std::sort(split.pretrain.begin(), split.pretrain.end(), by_key);
  std::sort(split.dropped_duplicates.begin(), split.dropped_duplicates.end());
  return split;
}

std::string pretraining_document(const Email& email) {
  return "Subject: " + email.subject + "\n\n" + email.body;
}

}  // namespace qzo
