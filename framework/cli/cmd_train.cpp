// `qzo train CONFIG [--set key=value ...]`: fine-tune or evaluate (see train/zo_trainer.h).
#include <filesystem>
#include <optional>

#include "framework/cli/commands.h"
#include "framework/config/load.h"
#include "framework/dist/mpi_communicator.h"
#include "framework/log/hdf5_run_log.h"
#include "framework/train/run_outputs.h"
#include "framework/train/stop_signals.h"
#include "framework/train/zo_trainer.h"
#include "kernels/backend.h"

namespace qzo::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "fine-tune with QZO/MeZO or evaluate zero-shot/ICL on a task");
  auto config_path = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto comm_kind = std::make_shared<std::string>();
  auto log_h5 = std::make_shared<std::string>();
  auto overwrite = std::make_shared<bool>(false);
  cmd->add_option("config", *config_path, "run YAML (e.g. configs/quickstart.yaml)")->required();
  cmd->add_option("--set", *overrides, "override a config key: --set optim.lr=1e-6");
  cmd->add_option("--comm", *comm_kind, "auto (NCCL when every rank computes on a GPU, MPI under mpirun, else local), local, mpi or nccl; "
                  "default: the config's dist.backend");
  cmd->add_option("--log-h5", *log_h5, "also log the run to this HDF5 file (docs/hdf5-log.md)");
  cmd->add_flag("--overwrite", *overwrite,
                "replace what runs/<name> holds: a finished run, or a run of another config (docs/faults.md)");
  cmd->callback([config_path, overrides, comm_kind, log_h5, overwrite] {
    const Config cfg = load_config(*config_path, train_schema(), *overrides);
    const bool on_gpu = resolve_backend_kind(cfg.get<std::string>("backend")) == BackendKind::Cuda;
    auto comm = make_communicator(comm_kind->empty() ? cfg.get<std::string>("dist.backend") : *comm_kind, on_gpu);
    const StopSignals stop_signals;  // SIGINT/SIGTERM: checkpoint and stop between steps
    std::optional<Hdf5RunLog> log;
    if (!log_h5->empty()) {
      if (comm->rank() == 0) {
        const std::string folder = std::filesystem::path(*log_h5).parent_path().string();
        require_writable_directory(folder.empty() ? "." : folder, "the folder of --log-h5 " + *log_h5);
      }
      log.emplace(*log_h5);
    }
    RunOptions options;
    options.overwrite = *overwrite;
    run_training_with(options, cfg, *comm, log ? &*log : nullptr);
  });
}

}  // namespace qzo::cli
