// `qzo pretrain`: trains qzo's own default model from scratch on the pretraining split of
// the spam-assassin emails (the held-out emails are never seen) — byte-level BPE tokenizer,
// Llama decoder, AdamW with backprop — and writes an HF folder that standard tools open.
#pragma once
#include <string>

#include "framework/config/config.h"
#include "framework/config/schema.h"

namespace qzo {

const Schema& pretrain_schema();

struct PretrainReport {
  double val_loss = 0, unigram_loss = 0, train_loss = 0;
  double seconds = 0, tokens_per_second = 0;
  long steps = 0, tokens_seen = 0, train_tokens = 0, val_tokens = 0;
  long parameters = 0;
};

PretrainReport pretrain(const Config& config);

}  // namespace qzo
