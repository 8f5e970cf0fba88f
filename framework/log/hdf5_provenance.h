// Provenance a run log records without shelling out: the source tree's git commit, read from
// QZO_SOURCE_DIR/.git at run time, and UTC time stamps.
#pragma once
#include <string>

namespace qzo {

// The commit HEAD points at in `source_dir` (default: the tree qzo was built from), following
// a branch ref through refs/ or packed-refs and a worktree's `gitdir:` file; "unknown" when
// the tree has no readable .git. Uncommitted edits are not detected.
std::string source_git_commit(const std::string& source_dir = QZO_SOURCE_DIR);
// "2025-06-01T12:34:56Z".
std::string utc_timestamp();

}  // namespace qzo
