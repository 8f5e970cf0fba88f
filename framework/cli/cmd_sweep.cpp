// `qzo sweep FILE.yaml`: expands a sweep file (framework/sweep/sweep_spec.h) and runs every
// run not yet finished in its HDF5 log, one after another, each data-parallel under mpirun.
#include "framework/cli/commands.h"
#include "kernels/backend.h"
#include "framework/dist/mpi_communicator.h"
#include "framework/sweep/sweep_runner.h"
#include "framework/train/stop_signals.h"
#include "framework/train/zo_trainer.h"

namespace qzo::cli {

void add_sweep_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("sweep", "run a sweep file's runs into one HDF5 log, skipping finished runs");
  auto sweep_path = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  auto comm_kind = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  auto overwrite = std::make_shared<bool>(false);
  auto flush_every = std::make_shared<int>(10);
  cmd->add_option("sweep", *sweep_path, "sweep YAML (e.g. experiments/ddc-ablation.yaml)")->required();
  cmd->add_option("--out", *output, "HDF5 log (default: the sweep's output:, else runs/<name>.h5)");
  cmd->add_option("--set", *overrides, "override a config key in every run: --set optim.steps=10");
  cmd->add_option("--comm", *comm_kind, "auto, local, mpi or nccl (as for train); default: the base config's dist.backend, else auto");
  cmd->add_flag("--dry-run", *dry_run, "list the runs and what would happen to each, run nothing");
  cmd->add_flag("--overwrite", *overwrite, "replace a run directory that holds a run of another config");
  cmd->add_option("--flush-every", *flush_every, "step rows buffered between flushes of the log")
      ->check(CLI::PositiveNumber);
  cmd->callback([=] {
    const SweepSpec spec = load_sweep(*sweep_path, train_schema());
    const std::vector<SweepRun> runs = expand_sweep(spec, train_schema(), *overrides);
    const std::string out = output->empty() ? spec.output : *output;
    // One communicator serves every run, so it comes from the flag or the first run's config.
    std::string kind = *comm_kind;
    if (kind.empty()) kind = runs.front().config.has("dist.backend") ? runs.front().config.get<std::string>("dist.backend") : "auto";
    const Config& first = runs.front().config;
    const bool on_gpu = resolve_backend_kind(first.has("backend") ? first.get<std::string>("backend") : "cpu") ==
                        BackendKind::Cuda;
    auto comm = make_communicator(kind, on_gpu);
    if (*dry_run) {
      const std::vector<RunPlan> plan = plan_sweep(runs, out, *comm);
      if (comm->rank() == 0) {
        std::printf("sweep %s: %zu runs -> %s\n", spec.name.c_str(), runs.size(), out.c_str());
        for (size_t i = 0; i < runs.size(); ++i)
          std::printf("  %-5s %s\n", plan[i] == RunPlan::skip ? "skip" : plan[i] == RunPlan::restart ? "rerun" : "run",
                      runs[i].name.c_str());
      }
      return;
    }
    // The sweep decides from its log which runs to run again; a run directory holding a
    // run of another config is still refused unless --overwrite.
    RunOptions options;
    options.rerun_finished = true;
    options.overwrite = *overwrite;
    const TrainFn train = [options](const Config& cfg, Communicator& c, RunLog* log) {
      return run_training_with(options, cfg, c, log);
    };
    const StopSignals stop_signals;  // SIGINT/SIGTERM: the running run checkpoints and stops
    const SweepOutcome done = run_sweep(spec, runs, out, *comm, train, stdout, *flush_every);
    if (comm->rank() == 0)
      std::printf("\nsweep %s: ran %d, skipped %d finished; tables: qzo report %s\n", spec.name.c_str(), done.ran,
                  done.skipped, out.c_str());
  });
}

}  // namespace qzo::cli
