// The spam task's data: train/dev/eval drawn from the 2,400 held-out SpamAssassin emails
// (never pretrained on), balanced per class, and disjoint by body because the corpus re-sends
// some emails word for word (311 held-out emails share a body with another).
#include <map>
#include <mutex>
#include <unordered_map>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/data/spam_assassin.h"
#include "framework/tasks/task_sources.h"

namespace qzo {
namespace {

// Loading and cleaning the corpus takes 1-2 s; runs and tests ask for it repeatedly.
const std::vector<Email>& heldout_emails(const std::string& package) {
  static std::mutex mutex;
  static std::map<std::string, std::vector<Email>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(package);
  if (it == cache.end())
    it = cache.emplace(package, split_spam_assassin(load_spam_assassin(npm_package_dir(package))).heldout)
             .first;
  return it->second;
}

using Group = std::vector<size_t>;  // indices of held-out emails with one body

// One class's body groups in a seeded order; splits take whole groups while they fit.
class GroupQueue {
 public:
  void reshuffle(uint64_t seed) {
    std::vector<Group> shuffled;
    for (size_t i : seeded_permutation(groups_.size(), seed)) shuffled.push_back(std::move(groups_[i]));
    groups_ = std::move(shuffled);
  }
  void add(Group g) { groups_.push_back(std::move(g)); }
  size_t emails() const {
    size_t n = 0;
    for (const Group& g : groups_) n += g.size();
    return n;
  }
  // Takes up to `need` emails: whole groups in queue order, skipping ones too big; if still
  // short, part of the first remaining group, whose other copies are then dropped (they may
  // go to no other split). Returns how many it took.
  size_t take(size_t need, std::vector<size_t>& out) {
    size_t taken = 0;
    std::vector<Group> kept;
    for (Group& g : groups_) {
      if (taken < need && g.size() <= need - taken) {
        out.insert(out.end(), g.begin(), g.end());
        taken += g.size();
      } else {
        kept.push_back(std::move(g));
      }
    }
    groups_ = std::move(kept);
    if (taken < need && !groups_.empty()) {
      const size_t part = need - taken;
      out.insert(out.end(), groups_.front().begin(), groups_.front().begin() + static_cast<long>(part));
      taken += part;
      groups_.erase(groups_.begin());
    }
    return taken;
  }

 private:
  std::vector<Group> groups_;
};

nlohmann::json email_record(const Email& e) {
  return {{"subject", e.subject}, {"body", e.body}, {"label", e.spam ? "spam" : "ham"}, {"key", e.key}};
}

}  // namespace

TaskData load_spam_task(const TaskSpec& spec, int n_train, int n_dev, int n_eval, uint64_t seed) {
  const std::vector<Email>& emails = heldout_emails(spec.spam_package);
  if (n_eval < 0) n_eval = static_cast<int>(emails.size()) - n_train - n_dev;
  const int64_t total = int64_t{n_train} + n_dev + n_eval;
  if (n_eval < 0 || total > static_cast<int64_t>(emails.size()))
    fail("task " + spec.name + ": n_train " + std::to_string(n_train) + " + n_dev " + std::to_string(n_dev) +
         " + n_eval " + std::to_string(n_eval) + " exceeds the " + std::to_string(emails.size()) +
         " held-out emails");

  // Body groups per class (0 = spam, 1 = ham), in key order before shuffling.
  GroupQueue queues[2];
  {
    std::unordered_map<std::string, size_t> group_of[2];
    std::vector<Group> groups[2];
    for (size_t i = 0; i < emails.size(); ++i) {
      const int c = emails[i].spam ? 0 : 1;
      const auto [it, fresh] = group_of[c].emplace(emails[i].body, groups[c].size());
      if (fresh) groups[c].emplace_back();
      groups[c][it->second].push_back(i);
    }
    for (int c = 0; c < 2; ++c)
      for (Group& g : groups[c]) queues[c].add(std::move(g));
  }

  // Eval first, from a fixed order, so it does not move with the run seed; then train and dev.
  const int wants[3] = {n_eval, n_train, n_dev};
  std::vector<size_t> picked[3];
  size_t class_total[2] = {0, 0};
  for (int s = 0; s < 3; ++s) {
    if (s <= 1)
      for (GroupQueue& q : queues) q.reshuffle(s == 0 ? kEvalSeed : seed);
    const size_t n = static_cast<size_t>(wants[s]);
    // The odd one goes to the class that has fewer so far, so totals stay within one.
    const int first = class_total[0] <= class_total[1] ? 0 : 1;
    size_t target[2];
    target[first] = n - n / 2;
    target[1 - first] = n / 2;
    size_t got[2];
    for (int c = 0; c < 2; ++c) got[c] = queues[c].take(target[c], picked[s]);
    for (int c = 0; c < 2; ++c)  // balanced when possible: a short class is topped up by the other
      if (got[c] < target[c]) got[1 - c] += queues[1 - c].take(target[c] - got[c], picked[s]);
    if (got[0] + got[1] < n)
      fail("task " + spec.name + ": the held-out emails have too few distinct bodies for n_train " +
           std::to_string(n_train) + " + n_dev " + std::to_string(n_dev) + " + n_eval " +
           std::to_string(n_eval) + " disjoint by body; ask for fewer");
    for (int c = 0; c < 2; ++c) class_total[c] += got[c];
  }

  TaskData data;
  data.spec = spec;
  std::vector<Example>* outs[3] = {&data.eval, &data.train, &data.dev};
  for (int s = 0; s < 3; ++s) {
    // Interleave the classes; the salt keeps the three orders unrelated.
    const uint64_t order_seed =
        (s == 0 ? kEvalSeed : seed) ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(s + 1));
    for (size_t k : seeded_permutation(picked[s].size(), order_seed)) {
      const Email& e = emails[picked[s][k]];
      Example ex = make_example(spec, email_record(e), "spam-assassin " + e.key);
      ex.id = e.key;
      outs[s]->push_back(std::move(ex));
    }
  }
  return data;
}

}  // namespace qzo
