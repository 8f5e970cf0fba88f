#include "framework/train/replay.h"

#include <filesystem>
#include <memory>

#include "framework/config/load.h"
#include "framework/core/error.h"
#include "framework/methods/mezo.h"
#include "framework/methods/qzo.h"
#include "framework/methods/zo_step.h"
#include "framework/train/run_model.h"
#include "framework/train/zo_trainer.h"

namespace qzo {

namespace {

// The state the run kept: its best-dev state when it finished with dev evaluations, its last
// step when it had none, and every logged step of an unfinished run.
long default_replay_steps(const LoggedRun& run) {
  if (!run.finished()) return run.steps.size() ? run.steps.step.back() + 1 : 0;
  const bool selected_on_dev = run.summary.contains("best_dev") && !run.summary["best_dev"].is_null();
  return run.summary[selected_on_dev ? "best_step" : "steps"].get<long>();
}

}  // namespace

ReplayResult replay_run(const LoggedRun& run, const std::string& out_dir, long up_to_step) {
  const std::string where = "run '" + run.info.name + "'";
  const Config cfg = load_config_text(run.info.config_yaml, where + " config", train_schema());
  const std::string method = cfg.get<std::string>("method.name");
  if (method != "qzo" && method != "mezo") fail(where + ": method " + method + " has no trajectory to replay");
  const long steps = up_to_step >= 0 ? up_to_step : default_replay_steps(run);
  const LoggedSteps& rows = run.steps;
  const int n = cfg.get<int>("method.n_perturbations");
  if (static_cast<size_t>(steps) * size_t(n) > rows.size())
    fail(where + ": " + std::to_string(steps) + " steps asked, " + std::to_string(rows.size() / size_t(n)) +
         " logged");

  LoadedModel loaded = load_model(cfg);
  std::unique_ptr<ZoParameters> params;
  if (method == "qzo")
    params = qzo_parameters(cfg, *loaded.quantized);
  else
    params = std::make_unique<MezoParameters>(*loaded.plain);
  const uint64_t seed = static_cast<uint64_t>(cfg.get<int64_t>("seed"));
  const double weight_decay = cfg.get<double>("method.weight_decay");
  const ZoUpdate update = parse_zo_update(cfg.get<std::string>("method.update"));

  ReplayResult r;
  int64_t skipped_before = 0;
  for (long s = 0; s < steps; ++s) {
    const size_t first = static_cast<size_t>(s) * size_t(n);
    if (rows.step[first] != s) fail(where + ": row " + std::to_string(first) + " holds step " +
                                    std::to_string(rows.step[first]) + ", expected " + std::to_string(s));
    // skipped_steps counts the run's skipped steps so far: a rise marks this one.
    const bool skipped = rows.skipped_steps[first] > skipped_before;
    skipped_before = rows.skipped_steps[first];
    r.skipped += skipped;
    if (skipped) continue;
    // The trainer's update, from the logged doubles: the same floats, so the same bits.
    for (int k = 0; k < n; ++k) {
      const double lr = rows.lr[first + size_t(k)], d = rows.proj_grad_clipped[first + size_t(k)];
      params->update(perturbation_seed(seed, s, k), zo_update_step(lr, d, n, update),
                     static_cast<float>(lr * weight_decay / n));
    }
  }
  r.steps = steps;
  r.trajectory_bytes = static_cast<size_t>(steps) * size_t(n) * 2 * sizeof(double);
  r.state_hash = params->state_hash();

  std::filesystem::create_directories(out_dir);
  const std::string tokenizer_dir = cfg.get<std::string>("model.path");
  if (loaded.quantized) {
    loaded.quantized->save(out_dir, tokenizer_dir);
  } else {
    loaded.plain->save(out_dir, loaded.plain->parameters().front().dtype);
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
      if (std::filesystem::exists(tokenizer_dir + "/" + file))
        std::filesystem::copy_file(tokenizer_dir + "/" + file, out_dir + "/" + file,
                                   std::filesystem::copy_options::overwrite_existing);
  }
  return r;
}

}  // namespace qzo
