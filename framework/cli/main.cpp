// The `qzo` binary: one entry point, one subcommand per capability.
#include <cstdio>
#include <string>

#include "framework/cli/commands.h"
#include "framework/core/error.h"
#include "framework/dist/mpi_communicator.h"
#include "framework/train/stop_signals.h"

int main(int argc, char** argv) {
  CLI::App app{"qzo: fine-tune quantized language models with zeroth-order optimization"};
  app.require_subcommand(1);
  qzo::cli::add_tokenize_command(app);
  qzo::cli::add_pretrain_command(app);
  qzo::cli::add_generate_command(app);
  qzo::cli::add_quantize_command(app);
  qzo::cli::add_train_command(app);
  qzo::cli::add_sweep_command(app);
  qzo::cli::add_report_command(app);
  qzo::cli::add_replay_command(app);
  qzo::cli::add_memory_command(app);
  qzo::cli::add_merge_command(app);
  qzo::cli::add_export_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const qzo::Interrupted& e) {  // checkpointed, and rank 0 said where: 130 (SIGINT), 143 (SIGTERM)
    return 128 + e.signal;
  } catch (const std::exception& e) {  // qzo::Error, and the kernels' std errors
    // Under mpirun every rank that fails says so; the rank tells whose file or host it was.
    const int rank = qzo::launcher_rank();
    const std::string where = rank >= 0 ? "rank " + std::to_string(rank) + ": " : "";
    std::fprintf(stderr, "qzo: error: %s%s\n", where.c_str(), e.what());
    return 1;
  }
  return 0;
}
