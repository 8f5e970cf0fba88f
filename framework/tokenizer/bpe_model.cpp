// BPE model: loading vocab/merges from tokenizer.json, the two merge loops, and the word cache.
#include "framework/tokenizer/bpe_model.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "framework/core/error.h"
#include "framework/tokenizer/json_fields.h"
#include "framework/tokenizer/unicode_text.h"

namespace qzo::tok {
namespace {

size_t table_size_for(size_t entries) {
  size_t size = 16;
  while (size < entries * 2) size <<= 1;
  return size;
}

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// MurmurHash3's finalizer: every input bit reaches the low bits that pick the slot (a plain
// multiply would leave the left id out of them and cluster the table).
size_t mix(uint64_t key) {
  key ^= key >> 33;
  key *= 0xFF51AFD7ED558CCDULL;
  key ^= key >> 33;
  key *= 0xC4CEB9FE1A85EC53ULL;
  key ^= key >> 33;
  return static_cast<size_t>(key);
}

constexpr uint64_t kEmptyKey = ~0ULL;
// Words longer than this are rarely repeated (SentencePiece-style files pass whole texts).
constexpr size_t kMaxCachedWordBytes = 256;
// Short words merge fastest by rescanning their pairs; long ones need the heap.
constexpr size_t kMaxScanSymbols = 48;

}  // namespace

// Word -> ids, shared by all threads: sharded so that concurrent encodes rarely contend.
// Bounded: once full it stops growing, so memory stays flat on any corpus.
struct BpeModel::WordCache {
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxEntriesPerShard = 1 << 15;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string_view, std::vector<int32_t>> words;
    std::deque<std::string> keys;  // owns the text the map's keys view; never relocates
  };
  Shard shards[kShards];

  static size_t shard_of(std::string_view word) {
    return std::hash<std::string_view>{}(word) % kShards;
  }
  bool get(std::string_view word, std::vector<int32_t>& ids) {
    Shard& shard = shards[shard_of(word)];
    std::lock_guard<std::mutex> lock(shard.mutex);
    const auto it = shard.words.find(word);
    if (it == shard.words.end()) return false;
    ids.insert(ids.end(), it->second.begin(), it->second.end());
    return true;
  }
  void put(std::string_view word, const std::vector<int32_t>& symbols) {
    Shard& shard = shards[shard_of(word)];
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (shard.words.size() >= kMaxEntriesPerShard || shard.words.count(word)) return;
    shard.keys.emplace_back(word);
    shard.words.emplace(std::string_view(shard.keys.back()), symbols);
  }
};

BpeModel::BpeModel() : cache_(std::make_unique<WordCache>()) {
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
}
BpeModel::~BpeModel() = default;

std::unique_ptr<BpeModel> BpeModel::from_json(const nlohmann::json& model, const std::string& where) {
  return from_parts(model, bpe_parts_from_json(model, where), where);
}

std::unique_ptr<BpeModel> BpeModel::from_parts(const nlohmann::json& model, const BpeParts& parts,
                                               const std::string& where) {
  std::unique_ptr<BpeModel> bpe(new BpeModel());
  // id -> token first, so that the lookup table can refer to tokens by id.
  int64_t max_id = -1;
  for (const auto& [token, id] : parts.vocab) max_id = std::max(max_id, id);
  // The tables below are indexed by id: {"a": 2000000000} would ask for 64 GB. Real vocabularies
  // are dense (ids 0..n-1); allow gaps, not ids far past the token count.
  const int64_t id_limit = 16 * static_cast<int64_t>(parts.vocab.size()) + 65536;
  if (max_id >= id_limit)
    fail(where + ": model.vocab id " + std::to_string(max_id) + " is far past its " +
         std::to_string(parts.vocab.size()) + " tokens (ids are expected to be dense, below " +
         std::to_string(id_limit) + ")");
  bpe->tokens_.assign(static_cast<size_t>(max_id + 1), std::string());
  bpe->has_token_.assign(static_cast<size_t>(max_id + 1), 0);
  for (const auto& [token, id] : parts.vocab) {
    const auto i = static_cast<size_t>(id);
    if (bpe->has_token_[i])
      fail(where + ": model.vocab gives id " + std::to_string(i) + " to both " + shown(bpe->tokens_[i]) +
           " and " + shown(token));
    bpe->tokens_[i] = token;
    bpe->has_token_[i] = 1;
  }
  const size_t token_table = table_size_for(parts.vocab.size());
  bpe->token_slots_.assign(token_table, TokenSlot{-1, 0});
  bpe->token_mask_ = token_table - 1;
  for (size_t id = 0; id < bpe->tokens_.size(); ++id) {
    if (!bpe->has_token_[id]) continue;
    const size_t hash = std::hash<std::string_view>{}(bpe->tokens_[id]);
    size_t slot = hash & bpe->token_mask_;
    while (bpe->token_slots_[slot].id >= 0) slot = (slot + 1) & bpe->token_mask_;
    bpe->token_slots_[slot] = TokenSlot{static_cast<int32_t>(id), static_cast<uint32_t>(hash >> 32)};
  }

  const auto text_or_empty = [&](const char* key) -> std::string {
    const auto it = model.find(key);
    if (it == model.end() || it->is_null()) return "";
    if (!it->is_string()) fail(where + ": model." + key + " must be a string or null");
    return it->get<std::string>();
  };
  const auto flag = [&](const char* key) {
    const auto it = model.find(key);
    if (it == model.end() || it->is_null()) return false;
    if (!it->is_boolean()) fail(where + ": model." + key + " must be true or false");
    return it->get<bool>();
  };
  bpe->continuing_subword_prefix_ = text_or_empty("continuing_subword_prefix");
  bpe->end_of_word_suffix_ = text_or_empty("end_of_word_suffix");
  bpe->fuse_unk_ = flag("fuse_unk");
  bpe->byte_fallback_ = flag("byte_fallback");
  bpe->ignore_merges_ = flag("ignore_merges");
  if (const auto dropout = model.find("dropout");
      dropout != model.end() && !dropout->is_null() && dropout->get<double>() != 0.0)
    fail(where + ": model.dropout is not supported (expected null: encoding must be deterministic)");
  const std::string unk = text_or_empty("unk_token");
  if (!unk.empty()) bpe->unk_id_ = bpe->token_to_id(unk).value_or(-1);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    bpe->byte_ids_[b] = bpe->token_to_id(name).value_or(-1);
  }

  const size_t merge_table = table_size_for(parts.merges.size());
  bpe->merge_slots_.assign(merge_table, MergeSlot{kEmptyKey, {0, 0}});
  bpe->merge_mask_ = merge_table - 1;
  const size_t prefix_len = bpe->continuing_subword_prefix_.size();
  std::string merged;
  for (size_t rank = 0; rank < parts.merges.size(); ++rank) {
    const auto& [left, right] = parts.merges[rank];
    const auto at = [&] { return where + ": model.merges[" + std::to_string(rank) + "]"; };
    const auto left_id = bpe->token_to_id(left), right_id = bpe->token_to_id(right);
    if (!left_id || !right_id)
      fail(at() + ": " + shown(left_id ? right : left) + " is not in model.vocab");
    merged.assign(left);
    merged.append(right, std::min(prefix_len, right.size()), std::string::npos);
    const auto merged_id = bpe->token_to_id(merged);
    if (!merged_id) fail(at() + ": the merged token " + shown(merged) + " is not in model.vocab");
    const uint64_t key = pair_key(*left_id, *right_id);
    size_t slot = mix(key) & bpe->merge_mask_;
    while (bpe->merge_slots_[slot].key != kEmptyKey && bpe->merge_slots_[slot].key != key)
      slot = (slot + 1) & bpe->merge_mask_;
    // A repeated pair keeps its last rank, as in Hugging Face's map built from the list.
    bpe->merge_slots_[slot] = MergeSlot{key, {static_cast<int32_t>(rank), *merged_id}};
  }
  return bpe;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const size_t hash = std::hash<std::string_view>{}(token);
  const auto tag = static_cast<uint32_t>(hash >> 32);
  size_t slot = hash & token_mask_;
  for (;;) {
    const TokenSlot& s = token_slots_[slot];
    if (s.id < 0) return std::nullopt;
    if (s.tag == tag && tokens_[static_cast<size_t>(s.id)] == token) return s.id;
    slot = (slot + 1) & token_mask_;
  }
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !has_token_[static_cast<size_t>(id)])
    return nullptr;
  return &tokens_[static_cast<size_t>(id)];
}

const BpeModel::Merge* BpeModel::find_merge(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  size_t slot = mix(key) & merge_mask_;
  for (;;) {
    const MergeSlot& s = merge_slots_[slot];
    if (s.key == key) return &s.merge;
    if (s.key == kEmptyKey) return nullptr;
    slot = (slot + 1) & merge_mask_;
  }
}

void BpeModel::initial_symbols(std::string_view word, std::vector<int32_t>& symbols) const {
  symbols.clear();
  const bool affixes = !continuing_subword_prefix_.empty() || !end_of_word_suffix_.empty();
  std::string affixed;
  bool unk_pending = false;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t start = pos;
    pos = std::min(word.size(), pos + utf8_sequence_length(static_cast<unsigned char>(word[pos])));
    std::string_view ch = word.substr(start, pos - start);
    if (affixes) {
      affixed.clear();
      if (start > 0) affixed += continuing_subword_prefix_;
      affixed.append(ch.data(), ch.size());
      if (pos == word.size()) affixed += end_of_word_suffix_;
      ch = affixed;
    }
    if (const auto id = token_to_id(ch)) {
      if (unk_pending) symbols.push_back(unk_id_);
      unk_pending = false;
      symbols.push_back(*id);
      continue;
    }
    if (byte_fallback_ &&
        std::all_of(ch.begin(), ch.end(), [&](char c) { return byte_ids_[static_cast<unsigned char>(c)] >= 0; })) {
      if (unk_pending) symbols.push_back(unk_id_);
      unk_pending = false;
      for (char c : ch) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      continue;
    }
    if (unk_id_ < 0) continue;  // no unk token: Hugging Face drops the character
    if (unk_pending && !fuse_unk_) symbols.push_back(unk_id_);
    unk_pending = true;
  }
  if (unk_pending) symbols.push_back(unk_id_);
}

void BpeModel::merge_by_scan(std::vector<int32_t>& symbols) const {
  if (symbols.size() < 2) return;
  thread_local std::vector<Merge> pairs;  // pairs[i]: the merge of symbols i and i+1
  pairs.resize(symbols.size() - 1);
  const auto rank_of = [&](size_t i) {
    const Merge* m = find_merge(symbols[i], symbols[i + 1]);
    return m ? *m : Merge{INT_MAX, -1};
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) pairs[i] = rank_of(i);
  for (;;) {
    size_t best = 0;
    for (size_t i = 1; i < pairs.size(); ++i)
      if (pairs[i].rank < pairs[best].rank) best = i;  // strict: the leftmost wins ties
    if (pairs.empty() || pairs[best].rank == INT_MAX) break;
    symbols[best] = pairs[best].merged_id;
    symbols.erase(symbols.begin() + static_cast<long>(best) + 1);
    pairs.erase(pairs.begin() + static_cast<long>(best));
    if (best > 0) pairs[best - 1] = rank_of(best - 1);
    if (best < pairs.size()) pairs[best] = rank_of(best);
  }
}

void BpeModel::merge_by_heap(std::vector<int32_t>& symbols) const {
  const size_t n = symbols.size();
  if (n < 2) return;
  struct Symbol {
    int32_t id, prev, next;
    bool alive;
  };
  struct Candidate {
    int32_t rank, pos, merged_id;
  };
  // A min-heap on (rank, pos): the lowest rank first, then the leftmost.
  const auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  thread_local std::vector<Symbol> sym;
  thread_local std::vector<Candidate> heap;
  sym.resize(n);
  heap.clear();
  for (size_t i = 0; i < n; ++i)
    sym[i] = Symbol{symbols[i], static_cast<int32_t>(i) - 1, i + 1 < n ? static_cast<int32_t>(i + 1) : -1, true};
  const auto push = [&](int32_t pos) {
    const Symbol& s = sym[static_cast<size_t>(pos)];
    if (s.next < 0) return;
    if (const Merge* m = find_merge(s.id, sym[static_cast<size_t>(s.next)].id)) {
      heap.push_back(Candidate{m->rank, pos, m->merged_id});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = sym[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = sym[static_cast<size_t>(left.next)];
    // Skip entries made stale by earlier merges: the pair must still merge into the same token.
    const Merge* current = find_merge(left.id, right.id);
    if (!current || current->merged_id != top.merged_id) continue;
    left.id = top.merged_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[static_cast<size_t>(right.next)].prev = top.pos;
    if (left.prev >= 0) push(left.prev);
    push(top.pos);
  }
  symbols.clear();
  for (int32_t i = 0; i >= 0; i = sym[static_cast<size_t>(i)].next) symbols.push_back(sym[static_cast<size_t>(i)].id);
}

void BpeModel::merge(std::vector<int32_t>& symbols) const {
  if (symbols.size() <= kMaxScanSymbols)
    merge_by_scan(symbols);
  else
    merge_by_heap(symbols);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto id = token_to_id(word)) {
      ids.push_back(*id);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable && cache_->get(word, ids)) return;
  thread_local std::vector<int32_t> symbols;
  initial_symbols(word, symbols);
  merge(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  if (cacheable) cache_->put(word, symbols);
}

}  // namespace qzo::tok
