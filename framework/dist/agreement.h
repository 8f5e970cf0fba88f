// Checks that data-parallel ranks run the same job (DESIGN.md §2): the same resolved
// config and the same model files at the start, and the same trainable state every K
// steps (the replica guard). A mismatch fails on every rank with one line naming the key,
// file or ranks at fault, so no replica goes on training something else.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "framework/config/config.h"
#include "framework/dist/communicator.h"

namespace qzo {

// A named value all ranks must hold: a config key's value, a file's contents.
struct AgreementItem {
  std::string name;
  uint64_t hash = 0;
  std::string shown;  // how a mismatch shows this rank's version (a config value); may be empty
};

// Collective. Throws "<what>: ranks disagree on <name> (ranks 0,1: 3e-05 vs rank 2: 1e-05)"
// naming the first item that differs, or an item only some ranks have.
void require_agreement(Communicator& comm, const std::string& what, const std::vector<AgreementItem>& items);

// One item per config key ("optim.lr"), hashing its resolved value.
std::vector<AgreementItem> config_items(const Config& config);
// One item per regular file of a model folder (config.json, *.safetensors, tokenizer.json…).
// Files above 256 MiB hash their size and 64 evenly spaced 64 KiB blocks, so a 7B model is
// checked in milliseconds; smaller files hash every byte.
std::vector<AgreementItem> folder_items(const std::string& dir);

// Replica guard, collective: every rank's state hash must be equal; throws naming the ranks
// that differ from rank 0 and the step.
void require_identical_replicas(Communicator& comm, uint64_t state_hash, int64_t step);

}  // namespace qzo
