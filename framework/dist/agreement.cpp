#include "framework/dist/agreement.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "framework/config/value.h"
#include "framework/core/error.h"
#include "framework/core/hash.h"

namespace qzo {

namespace fs = std::filesystem;

namespace {

std::string hex(uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

uint64_t combined_hash(const std::vector<AgreementItem>& items) {
  uint64_t h = kFnvOffset;
  for (const AgreementItem& item : items) {
    h = fnv1a64_bytes(item.name.data(), item.name.size(), h);
    h = fnv1a64_bytes(&item.hash, sizeof item.hash, h);
  }
  return h;
}

// A rank's items as JSON {name: [hash, shown]}: exchanged only once a mismatch is known.
using Listing = std::map<std::string, std::pair<std::string, std::string>>;

std::string listing_text(const std::vector<AgreementItem>& items) {
  nlohmann::json j = nlohmann::json::object();
  for (const AgreementItem& item : items) j[item.name] = nlohmann::json::array({hex(item.hash), item.shown});
  return j.dump();
}

Listing parse_listing(const std::string& text) {
  Listing out;
  const nlohmann::json parsed = nlohmann::json::parse(text);
  for (const auto& [name, v] : parsed.items()) out[name] = {v.at(0).get<std::string>(), v.at(1).get<std::string>()};
  return out;
}

// "ranks 0,1: 3e-05 vs rank 2: 1e-05": which ranks hold which version.
std::string ranks_by_version(const std::vector<std::pair<std::string, std::string>>& versions) {
  std::map<std::string, std::vector<int>> groups;
  for (size_t r = 0; r < versions.size(); ++r) groups[versions[r].first].push_back(static_cast<int>(r));
  std::vector<std::vector<int>> ordered;
  for (auto& [version, ranks] : groups) ordered.push_back(ranks);
  std::sort(ordered.begin(), ordered.end());
  std::string out;
  for (const std::vector<int>& ranks : ordered) {
    if (!out.empty()) out += " vs ";
    out += ranks.size() == 1 ? "rank " : "ranks ";
    for (size_t i = 0; i < ranks.size(); ++i) out += (i ? "," : "") + std::to_string(ranks[i]);
    const std::string& shown = versions[static_cast<size_t>(ranks[0])].second;
    if (!shown.empty()) out += ": " + shown;
  }
  return out;
}

uint64_t file_hash(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string() + ": cannot be read");
  const uint64_t size = fs::file_size(path);
  uint64_t h = fnv1a64_bytes(&size, sizeof size);
  constexpr uint64_t kFullHashLimit = 256ULL << 20, kBlock = 64ULL << 10, kBlocks = 64;
  std::vector<char> buffer(kBlock);
  auto hash_block = [&](uint64_t offset, uint64_t length) {
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(buffer.data(), static_cast<std::streamsize>(length));
    h = fnv1a64_bytes(buffer.data(), static_cast<size_t>(in.gcount()), h);
  };
  if (size <= kFullHashLimit) {
    for (uint64_t offset = 0; offset < size; offset += kBlock) hash_block(offset, std::min(kBlock, size - offset));
  } else {
    for (uint64_t b = 0; b < kBlocks; ++b) hash_block((size - kBlock) / (kBlocks - 1) * b, kBlock);
  }
  return h;
}

}  // namespace

void require_agreement(Communicator& comm, const std::string& what, const std::vector<AgreementItem>& items) {
  const std::vector<uint64_t> all = comm.all_gather(combined_hash(items));
  if (std::all_of(all.begin(), all.end(), [&](uint64_t h) { return h == all[0]; })) return;

  std::vector<Listing> per_rank;
  for (const std::string& text : comm.all_gather_text(listing_text(items))) per_rank.push_back(parse_listing(text));
  std::vector<std::string> names;
  for (const auto& listing_of_rank : per_rank)
    for (const auto& [name, hash] : listing_of_rank)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  // Report in the caller's order where possible (schema order, file order).
  std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    auto pos = [&](const std::string& n) {
      auto it = std::find_if(items.begin(), items.end(), [&](const AgreementItem& i) { return i.name == n; });
      return it - items.begin();
    };
    return pos(a) < pos(b);
  });
  for (const std::string& name : names) {
    std::vector<std::pair<std::string, std::string>> versions;
    for (const auto& listing_of_rank : per_rank) {
      auto it = listing_of_rank.find(name);
      versions.push_back(it == listing_of_rank.end() ? std::make_pair(std::string("-"), std::string("missing"))
                                                     : it->second);
    }
    if (std::all_of(versions.begin(), versions.end(), [&](const auto& v) { return v.first == versions[0].first; }))
      continue;
    fail(what + ": ranks disagree on " + name + " (" + ranks_by_version(versions) + ")");
  }
  fail(what + ": ranks disagree (the order of items differs)");
}

std::vector<AgreementItem> config_items(const Config& config) {
  std::vector<AgreementItem> items;
  for (const KeySpec& key : config.schema().keys()) {
    const std::string text = config.has(key.path) ? format_value(config.value(key.path)) : "";
    items.push_back({"'" + key.path + "'", fnv1a64_bytes(text.data(), text.size()), text});
  }
  return items;
}

std::vector<AgreementItem> folder_items(const std::string& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<AgreementItem> items;
  for (const fs::path& f : files) items.push_back({f.string(), file_hash(f), ""});
  return items;
}

void require_identical_replicas(Communicator& comm, uint64_t state_hash, int64_t step) {
  const std::vector<uint64_t> all = comm.all_gather(state_hash);
  std::vector<int> differing;
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differing.push_back(static_cast<int>(r));
  if (differing.empty()) return;
  std::string ranks;
  for (int r : differing) ranks += (ranks.empty() ? "" : ",") + std::to_string(r);
  fail("replica guard at step " + std::to_string(step) + ": the trainable state of rank" +
       (differing.size() > 1 ? "s " : " ") + ranks + " differs from rank 0 (hash " + hex(all[differing[0]]) +
       " vs " + hex(all[0]) + "); replicas must stay bit-identical");
}

}  // namespace qzo
