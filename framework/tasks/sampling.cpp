// Seeded shuffles and the word-boundary cut used when sampling task examples. Written out
// rather than taken from <random>/<algorithm> because std::shuffle and the std
// distributions may differ between standard libraries; a seed must mean one sample.
#include <random>

#include "framework/tasks/task.h"

namespace qzo {
namespace {

// Uniform in [0, bound) without modulo bias.
uint64_t draw_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t reject_below = (0 - bound) % bound;  // 2^64 mod bound
  uint64_t x;
  do x = rng();
  while (x < reject_below);
  return x % bound;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

std::vector<size_t> seeded_permutation(size_t n, uint64_t seed) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[draw_below(rng, i)]);
  return order;
}

std::string truncate_on_word(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  size_t cut = max_chars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  for (size_t i = cut; i > 0; --i)
    if (is_space(text[i])) {
      cut = i;
      break;
    }
  while (cut > 0 && is_space(text[cut - 1])) --cut;
  return text.substr(0, cut);
}

}  // namespace qzo
