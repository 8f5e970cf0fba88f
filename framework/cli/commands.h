// Each `qzo` subcommand lives in its own cmd_<name>.cpp and registers itself here.
#pragma once
#include <CLI/CLI.hpp>

namespace qzo::cli {

void add_tokenize_command(CLI::App& app);
void add_pretrain_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_replay_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_memory_command(CLI::App& app);

}  // namespace qzo::cli
