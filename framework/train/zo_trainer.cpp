#include "framework/train/zo_trainer.h"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <utility>


#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/paths.h"
#include "framework/core/process_memory.h"
#include "framework/core/threads.h"
#include "framework/dist/agreement.h"
#include "framework/dist/placement.h"
#include "framework/dist/sharding.h"
#include "framework/methods/full_finetune.h"
#include "framework/methods/lora.h"
#include "framework/methods/lora_peft.h"
#include "framework/methods/mezo.h"
#include "framework/methods/qzo.h"
#include "framework/train/backprop_step.h"
#include "framework/train/zo_reduce.h"
#include "framework/train/run_model.h"
#include "framework/train/checkpoint.h"
#include "framework/train/lr_schedule.h"
#include "framework/train/progress.h"
#include "framework/train/run_outputs.h"
#include "framework/train/stop_signals.h"
#include "framework/train/task_encoding.h"

namespace qzo {

namespace fs = std::filesystem;

namespace {

// <task>-<method>-<quant>-s<seed>, from the config and the model folder's config.json.
std::string default_run_name(const Config& cfg) {
  const std::string task = fs::path(cfg.get<std::string>("task.name")).stem().string();
  return task + "-" + cfg.get<std::string>("method.name") + "-" + quant_label(cfg) + "-s" +
         std::to_string(cfg.get<int64_t>("seed"));
}

// Runs `decide` on rank 0 alone (only rank 0 writes the run's outputs) and hands its answer,
// or its error, to every rank, so that all ranks go on or all fail with rank 0's line.
std::string on_root_for_all(Communicator& comm, const std::function<std::string()>& decide) {
  std::string text;
  if (comm.rank() == 0) {
    try {
      text = "=" + decide();
    } catch (const std::exception& e) {
      text = std::string("!") + e.what();
    }
  }
  if (comm.size() > 1) text = comm.broadcast_text(text, 0);
  if (!text.empty() && text[0] == '!') fail(text.substr(1));
  return text.substr(1);
}

// Before any weight loads: log.dir and the run directory take a file, and the directory
// holds no other run's outputs (run_outputs.h). Returns the run directory and what it holds.
std::pair<std::string, ExistingRun> prepare_run_directory(const Config& cfg, Communicator& comm,
                                                          const RunOptions& options) {
  const std::string log_dir = cfg.get<std::string>("log.dir");
  on_root_for_all(comm, [&] {
    require_writable_directory(log_dir, cfg.where("log.dir"));
    return std::string();
  });
  const std::string name = cfg.get<std::string>("log.name").empty() ? default_run_name(cfg) : cfg.get<std::string>("log.name");
  const std::string run_dir = log_dir + "/" + name;
  const std::string existing = on_root_for_all(comm, [&] {
    require_writable_directory(run_dir, "the run directory");
    return std::to_string(static_cast<int>(claim_run_directory(run_dir, cfg, options)));
  });
  return {run_dir, static_cast<ExistingRun>(std::stoi(existing))};
}

// Every rank's predictions on its contiguous shard, gathered back into the split's order.
std::vector<Prediction> gather_predictions(Communicator& comm, const std::vector<Prediction>& mine) {
  nlohmann::json j = nlohmann::json::array();
  for (const Prediction& p : mine) j.push_back({p.index, p.text});
  std::vector<Prediction> all;
  for (const std::string& text : comm.all_gather_text(j.dump()))
    for (const auto& p : nlohmann::json::parse(text)) all.push_back({p[0].get<int>(), p[1].get<std::string>()});
  return all;
}

// Test hook for resumption: QZO_TEST_FAIL_AFTER_STEP=n makes the run throw once step n is
// done, as a crash would.
void fail_for_test(long steps_done) {
  const char* at = std::getenv("QZO_TEST_FAIL_AFTER_STEP");
  if (at && std::atol(at) == steps_done) fail("test hook: stopped after step " + std::to_string(steps_done));
}

bool hook_rank_matches(const char* env, const Communicator& comm) {
  const char* rank = std::getenv(env);
  return !rank || !*rank || std::atoi(rank) == comm.rank();
}

// Test hooks for faults, once step n is done: QZO_TEST_SIGNAL_AFTER_STEP=n raises SIGTERM
// (QZO_TEST_SIGNAL=INT: SIGINT) in this process, on rank QZO_TEST_SIGNAL_RANK or every rank;
// QZO_TEST_KILL_AFTER_STEP=n with QZO_TEST_KILL_RANK=r raises SIGKILL on rank r.
void signal_for_test(long steps_done, const Communicator& comm) {
  const char* at = std::getenv("QZO_TEST_SIGNAL_AFTER_STEP");
  if (at && std::atol(at) == steps_done && hook_rank_matches("QZO_TEST_SIGNAL_RANK", comm)) {
    const char* which = std::getenv("QZO_TEST_SIGNAL");
    std::raise(which && std::string(which) == "INT" ? SIGINT : SIGTERM);
  }
  const char* kill_at = std::getenv("QZO_TEST_KILL_AFTER_STEP");
  if (kill_at && std::atol(kill_at) == steps_done && std::getenv("QZO_TEST_KILL_RANK") &&
      hook_rank_matches("QZO_TEST_KILL_RANK", comm)) {
    std::fflush(stdout);
    std::raise(SIGKILL);
  }
}

// Test hook for the non-finite policy: QZO_TEST_NAN_AT_STEP=n makes step n's objective NaN
// (steps count from 0, as in the log).
bool nan_for_test(long step) {
  const char* at = std::getenv("QZO_TEST_NAN_AT_STEP");
  return at && std::atol(at) == step;
}

// Test hook for the replica guard: QZO_TEST_CORRUPT_RANK=r flips one bit of rank r's
// trainable state after the first step.
void corrupt_for_test(TrainableSet& params, const Communicator& comm) {
  const char* rank = std::getenv("QZO_TEST_CORRUPT_RANK");
  if (!rank || std::atoi(rank) != comm.rank()) return;
  std::vector<std::vector<uint8_t>> state = params.snapshot();
  state.at(0).at(0) ^= 1;
  params.restore(state);
}

bool is_backprop_method(const std::string& method) { return method == "qlora" || method == "ft"; }

// The method's base must match what it trains: quantized scales (qzo), a quantized base
// under adapters (qlora), or unquantized weights (mezo, ft).
void require_method_fits_model(const Config& cfg, const std::string& method, const LoadedModel& loaded) {
  if ((method == "qzo" || method == "qlora") && !loaded.quantized)
    fail(cfg.where("quant.method") + ": method " + method + " needs a quantized model; set quant.method to rtn or nf4");
  if (method == "qzo" && loaded.quantized->spec().double_quant)
    fail(cfg.where("quant.double_quant") + ": qzo trains fp32 scales; double-quantized absmax is for a frozen "
         "QLoRA base (set quant.double_quant: false)");
  if ((method == "mezo" || is_backprop_method(method)) && cfg.get<std::string>("method.perturbation") == "multiplicative")
    fail(cfg.where("method.perturbation") + ": the multiplicative perturbation scales quantization scales; method " +
         method + " needs additive");
  if ((method == "mezo" || method == "ft") && loaded.quantized)
    fail(cfg.where("quant.method") + ": method " + method + " trains full weights; set quant.method: none");
}

OptimizerOptions optimizer_options(const Config& cfg) {
  OptimizerOptions o;
  o.kind = parse_backprop_optimizer(cfg.get<std::string>("optim.optimizer"));
  o.beta1 = float(cfg.get<double>("optim.beta1"));
  o.beta2 = float(cfg.get<double>("optim.beta2"));
  o.weight_decay = float(cfg.get<double>("optim.weight_decay"));
  return o;
}

LoraSpec lora_spec(const Config& cfg) {
  LoraSpec s;
  s.rank = cfg.get<int>("method.lora_r");
  s.alpha = float(cfg.get<double>("method.lora_alpha"));
  s.dropout = float(cfg.get<double>("method.lora_dropout"));
  s.targets = parse_lora_targets(cfg.get<std::string>("method.lora_targets"), cfg.where("method.lora_targets"));
  return s;
}

// What the configured method trains: ZO sets for qzo/mezo, backprop sets for qlora/ft, none
// for zero-shot and ICL.
struct Trainables {
  std::unique_ptr<ZoParameters> zo;
  std::unique_ptr<BackpropParameters> backprop;
  TrainableSet* any() const { return zo ? static_cast<TrainableSet*>(zo.get()) : backprop.get(); }
};

Trainables make_trainables(const Config& cfg, const std::string& method, LoadedModel& loaded, uint64_t seed) {
  Trainables t;
  if (method == "qzo")
    t.zo = qzo_parameters(cfg, *loaded.quantized);
  else if (method == "mezo")
    t.zo = std::make_unique<MezoParameters>(*loaded.plain);
  else if (method == "qlora")
    t.backprop = std::make_unique<LoraParameters>(loaded.model(), std::make_unique<QuantizedWeights>(*loaded.quantized),
                                                  lora_spec(cfg), perturbation_seed(seed, -1, 0x10a),
                                                  optimizer_options(cfg));
  else if (method == "ft")
    t.backprop = std::make_unique<FullParameters>(*loaded.plain, optimizer_options(cfg));
  return t;
}

BackpropStepOptions backprop_step_options(const Config& cfg) {
  BackpropStepOptions o;
  o.max_grad_norm = cfg.get<double>("optim.max_grad_norm");
  o.stop_on_nonfinite = cfg.get<std::string>("method.nonfinite") == "stop";
  o.bucket_bytes = size_t(cfg.get<double>("dist.bucket_mb") * 1048576.0);
  o.pass.activation_checkpointing = cfg.get<bool>("method.activation_checkpointing");
  return o;
}

nlohmann::json train_and_evaluate(const Config& cfg, Communicator& comm, RunLog* log, const RunOptions& options) {
  // Threads and the GPU follow from where this rank sits among the ranks of its host.
  const std::vector<std::string> hosts = comm.all_gather_text(this_host_name());
  const HostPlacement placement = host_placement(hosts, comm.rank());
  set_compute_threads(cfg.get<int>("threads"), placement.local_size);
  const bool root = comm.rank() == 0;
  const std::string method = cfg.get<std::string>("method.name");
  const uint64_t seed = static_cast<uint64_t>(cfg.get<int64_t>("seed"));

  if (comm.size() > 1) {
    // Every rank must train the same thing on the same weights.
    require_agreement(comm, "config", config_items(cfg));
    require_agreement(comm, "model files", folder_items(cfg.get<std::string>("model.path")));
  }
  const std::pair<std::string, ExistingRun> prepared = prepare_run_directory(cfg, comm, options);
  const std::string run_dir = prepared.first;
  const ExistingRun existing = prepared.second;
  const std::string run_name = fs::path(run_dir).filename().string();
  LoadedModel loaded = load_model(cfg, placement.local_rank);
  require_method_fits_model(cfg, method, loaded);
  const Model& model = loaded.model();
  const Tokenizer tokenizer = Tokenizer::from_file(cfg.get<std::string>("model.path") + "/tokenizer.json");

  const TaskSpec spec = load_task_spec(cfg.get<std::string>("task.name"));
  const TaskData data = load_task(spec, cfg.get<std::string>("task.data_dir"), cfg.get<int>("task.n_train"),
                                  cfg.get<int>("task.n_dev"), cfg.get<int>("task.n_eval"), seed);
  const bool generation = spec.kind == TaskKind::generation;
  EncodingOptions enc_opts;
  enc_opts.max_prompt_tokens = cfg.get<int>("task.max_prompt_tokens");
  enc_opts.batch_rows = cfg.get<int>("eval.batch_rows");
  enc_opts.max_total_tokens = model.config().max_position_embeddings;
  const TaskEncoder encoder(tokenizer, spec, enc_opts);
  auto encode_split = [&](const std::vector<Example>& examples) {
    if (method != "icl") return encoder.encode_all(examples);
    // ICL: k demonstrations drawn from the training examples with the run seed.
    const int k = std::min<int>(cfg.get<int>("method.icl_k"), static_cast<int>(data.train.size()));
    const std::vector<size_t> order = seeded_permutation(data.train.size(), seed ^ 0x1c1ULL);
    std::vector<Example> demos;
    for (int i = 0; i < k; ++i) demos.push_back(data.train[order[i]]);
    std::vector<EncodedExample> out;
    for (const Example& e : examples) out.push_back(encoder.encode(e, build_icl_prompt(demos, e, spec)));
    return out;
  };
  const std::vector<EncodedExample> train = encoder.encode_all(data.train);
  const std::vector<EncodedExample> dev = encode_split(data.dev);
  const std::vector<EncodedExample> eval = encode_split(data.eval);
  const int max_new_tokens = cfg.get<int>("task.max_new_tokens");

  Trainables trainables = make_trainables(cfg, method, loaded, seed);
  TrainableSet* const params = trainables.any();
  // The run's memory is what it holds from here on (the trainable set tagged as such):
  // loading's transients (an fp32 copy quantized at load) are not part of training.
  loaded.backend->memory().reset_peaks();
  const bool rss_reset = reset_run_peak_rss();  // this run's peak RSS, not the process's (a sweep)
  auto current_weights = [&]() -> std::unique_ptr<WeightSource> {
    if (params) return params->current();
    if (loaded.quantized) return std::make_unique<QuantizedWeights>(*loaded.quantized);
    return model.stored_weights_source();
  };

  // Scores a split: each rank predicts its contiguous shard; the predictions are gathered.
  auto evaluate = [&](const std::vector<EncodedExample>& encoded, const std::vector<Example>& examples) {
    const auto weights = current_weights();
    const auto mine = predict(model, *weights, take_shard(encoded, comm.rank(), comm.size()), generation, enc_opts,
                              tokenizer, max_new_tokens);
    return score_predictions(spec, examples, comm.size() == 1 ? mine : gather_predictions(comm, mine));
  };

  if (root) {
    fs::create_directories(run_dir);
    std::printf("train: %s | task %s (%zu train, %zu dev, %zu eval) | %s | model %.2fM params, weights %.2f MB\n",
                run_name.c_str(), spec.name.c_str(), train.size(), dev.size(), eval.size(),
                params ? params->describe().c_str() : method.c_str(), model.num_parameters() / 1e6,
                loaded.weight_bytes() / 1e6);
    std::fflush(stdout);
  }

  // Resumption: every rank reads the checkpoint (a shared file system, or a copy per host)
  // and the ranks check that they hold the same one; it is applied once training starts.
  const std::string checkpoint_path = run_dir + "/checkpoint.safetensors";
  const int checkpoint_interval = cfg.get<int>("log.checkpoint_interval");
  std::optional<TrainingCheckpoint> resume;
  if (params && existing == ExistingRun::resumable) {
    resume = load_checkpoint(checkpoint_path);
    if (comm.size() > 1) {
      uint64_t h = 0;
      if (resume) {
        h = fnv1a64_bytes(&resume->next_step, sizeof resume->next_step);
        for (const auto& part : resume->state) h = fnv1a64_bytes(part.data(), part.size(), h);
      }
      require_agreement(comm, "resume",
                        {{checkpoint_path, h, resume ? "step " + std::to_string(resume->next_step) : "none"}});
    }
    if (resume) require_resumable(checkpoint_path, *resume, cfg);
  }

  if (!root) log = nullptr;  // rank 0 alone logs
  if (log) {
    RunInfo info;
    info.name = run_name;
    info.config_yaml = cfg.to_yaml();
    info.config_hash = cfg.hash();
    info.method = method;
    info.quantizer = quant_label(loaded, cfg);
    info.task = spec.name;
    info.metric = to_string(spec.metric);
    info.backend = comm.backend();
    info.world_size = comm.size();
    info.seed = seed;
    info.hosts = hosts;
    info.resume_step = resume ? resume->next_step : 0;
    log->begin(info);
  }
  auto log_eval = [&](long step, const char* split, const TaskScore& s) {
    if (log) log->eval({step, split, s.metric, s.value});
  };

  nlohmann::json summary = {{"run", run_name},     {"task", spec.name},
                            {"method", method},    {"metric", to_string(spec.metric)},
                            {"seed", seed},        {"world_size", comm.size()},
                            {"backend", comm.backend()},
                            {"quant", loaded.quantized ? loaded.quantized->spec().to_string() : "none"},
                            {"config", cfg.to_yaml()}};
  const Stopwatch total_clock;
  // The split every reported score comes from: dev when choosing a prompt or a setting, so
  // that the eval split is never looked at; eval otherwise.
  const bool score_on_dev = cfg.get<std::string>("eval.split") == "dev";
  if (score_on_dev && dev.empty()) fail(cfg.where("task.n_dev") + ": eval.split dev needs task.n_dev > 0");
  const std::vector<EncodedExample>& scored = score_on_dev ? dev : eval;
  const std::vector<Example>& scored_examples = score_on_dev ? data.dev : data.eval;
  summary["final_split"] = score_on_dev ? "dev" : "eval";
  if (params && cfg.get<bool>("eval.zero_shot")) {  // an untrained run's final score is its zero-shot
    const TaskScore s = evaluate(scored, scored_examples);
    summary["zero_shot"] = s.value;
    log_eval(0, "zero_shot", s);
    if (root)
      std::printf("eval before training: %s %.4f on %zu %s examples\n", s.metric.c_str(), s.value, scored.size(),
                  score_on_dev ? "dev" : "eval");
  }

  const int steps = params ? cfg.get<int>("optim.steps") : 0;
  ZoOptions zo;
  zo.update = parse_zo_update(cfg.get<std::string>("method.update"));
  zo.eps = static_cast<float>(cfg.get<double>("method.eps"));
  zo.n_perturbations = cfg.get<int>("method.n_perturbations");
  zo.clip_threshold = cfg.get_optional_double("method.clip_threshold");
  zo.weight_decay = static_cast<float>(cfg.get<double>("method.weight_decay"));
  zo.stop_on_nonfinite = cfg.get<std::string>("method.nonfinite") == "stop";
  zo.perturbation_parallel = cfg.get<std::string>("dist.mode") == "perturbation";
  if (zo.perturbation_parallel && steps > 0 && zo.n_perturbations < comm.size())
    fail(cfg.where("method.n_perturbations") + ": dist.mode perturbation needs method.n_perturbations (" +
         std::to_string(zo.n_perturbations) + ") >= the world size (" + std::to_string(comm.size()) + ")");
  const int guard_interval = cfg.get<int>("dist.guard_interval");
  const BackpropStepOptions backprop_options = backprop_step_options(cfg);
  if (zo.perturbation_parallel && trainables.backprop)
    fail(cfg.where("dist.mode") + ": dist.mode perturbation splits ZO perturbations; " + method + " needs dist.mode data");
  LrSchedule lr;
  lr.kind = cfg.get<std::string>("optim.schedule");
  lr.peak = cfg.get<double>("optim.lr");
  lr.warmup_steps = cfg.get<int>("optim.warmup_steps");
  lr.total_steps = std::max(1, steps);
  const int batch_size = cfg.get<int>("optim.batch_size");
  const int eval_interval = cfg.get<int>("eval.interval"), log_interval = cfg.get<int>("log.interval");
  if (steps > 0 && train.empty()) fail(cfg.where("task.n_train") + ": training needs task.n_train > 0");

  double best_dev = -INFINITY;
  long best_step = 0;
  std::vector<std::vector<uint8_t>> best_state;
  const bool eval_curve = cfg.get<bool>("eval.curve");
  if (eval_curve && score_on_dev)
    fail(cfg.where("eval.curve") + ": eval.curve scores the eval split, which eval.split dev never scores");
  auto consider_dev = [&](long step) {
    if (eval_curve) log_eval(step, "eval_curve", evaluate(eval, data.eval));
    if (dev.empty()) return;
    const TaskScore s = evaluate(dev, data.dev);
    log_eval(step, "dev", s);
    const bool better = s.value > best_dev;
    if (better) {
      best_dev = s.value;
      best_step = step;
      best_state = params->snapshot();
    }
    if (root)
      std::printf("eval step %ld | dev %s %.4f%s\n", step, s.metric.c_str(), s.value, better ? " | best" : "");
  };

  long clipped = 0, skipped = 0, perturbations = 0;
  int64_t tokens_total = 0;
  double loss_ema = NAN;
  long guard_checks = 0;
  uint64_t step_bytes = 0;  // what the steps' all-reduces moved (not evaluation or guards)
  auto guard = [&](long step) {
    require_identical_replicas(comm, params->state_hash(), step);
    ++guard_checks;
  };
  std::optional<BatchSampler> sampler;
  if (steps > 0) sampler.emplace(train.size(), batch_size, seed);

  long first_step = 0;
  double earlier_train_seconds = 0;  // the steps of earlier attempts of a resumed run
  if (resume) {
    params->restore(resume->state);
    first_step = resume->next_step;
    best_state = resume->best_state;
    best_dev = best_state.empty() ? -INFINITY : resume->best_dev;
    best_step = resume->best_step;
    clipped = resume->clipped;
    skipped = resume->skipped;
    perturbations = resume->perturbations;
    tokens_total = resume->tokens;
    loss_ema = resume->loss_ema;
    earlier_train_seconds = resume->train_seconds;
    resume.reset();  // the state lives in params now
    if (root) std::printf("resumed from %s at step %ld\n", checkpoint_path.c_str(), first_step);
  }
  ProgressClock clock(steps - first_step);
  auto train_seconds_so_far = [&] { return earlier_train_seconds + clock.step_seconds(); };
  auto save_checkpoint_at = [&](long next_step) {
    if (!root) return;
    TrainingCheckpoint c;
    c.next_step = next_step;
    c.state = params->snapshot();
    c.best_state = best_state;
    c.best_dev = std::isfinite(best_dev) ? best_dev : 0.0;
    c.best_step = best_step;
    c.clipped = clipped;
    c.skipped = skipped;
    c.perturbations = perturbations;
    c.tokens = tokens_total;
    c.loss_ema = loss_ema;
    c.train_seconds = train_seconds_so_far();
    c.config_yaml = cfg.to_yaml();
    if (log) log->sync();  // the log's rows before next_step reach the disk before the checkpoint that resumes after them
    save_checkpoint(checkpoint_path, c);
  };
  // SIGINT / SIGTERM on any rank: every rank stops after the same step, with a checkpoint.
  auto stop_if_signalled = [&](long next_step) {
    const int signal = agreed_stop_signal(comm);
    if (signal == 0) return;
    save_checkpoint_at(next_step);
    const std::string message = "interrupted by " + signal_name(signal) + " after step " + std::to_string(next_step) +
                                "/" + std::to_string(steps) + "; checkpoint " + checkpoint_path +
                                " (run the same command again to resume)";
    if (root) {
      std::printf("%s\n", message.c_str());
      std::fflush(stdout);
    }
    throw Interrupted(message, signal);
  };
  if (first_step == 0 && steps > 0) consider_dev(0);

  for (long step = first_step; step < steps; ++step) {
    clock.start_step();
    // Data mode: this rank's slice of the (seed, step) global batch. Perturbation mode:
    // the whole batch, for this rank's share of the perturbations.
    std::vector<EncodedExample> mine;
    for (size_t i : zo.perturbation_parallel ? sampler->global_batch(step)
                                             : sampler->shard(step, comm.rank(), comm.size()))
      mine.push_back(train[i]);
    const Objective objective = [&](const WeightSource& w) {
      const ObjectiveSum s = task_objective(model, w, mine, generation, enc_opts);
      return LocalLoss{nan_for_test(step) ? NAN : s.sum, s.count, static_cast<double>(s.tokens)};
    };
    const double rate = lr.at(step);
    const uint64_t bytes_before = comm.bytes_reduced();
    const ZoStepResult r = trainables.zo ? zo_step(*trainables.zo, objective, seed, step, rate, zo, comm)
                                         : backprop_step(*trainables.backprop, mine, generation, seed, step, rate,
                                                         backprop_options, comm);
    step_bytes += comm.bytes_reduced() - bytes_before;
    if (step == 0) corrupt_for_test(*params, comm);
    clipped += r.clipped;
    perturbations += static_cast<long>(r.loss_plus.size());
    skipped += r.skipped;
    const auto global_tokens = static_cast<int64_t>(r.tokens);
    tokens_total += global_tokens;
    const double ms = clock.tick(global_tokens) * 1e3;
    if (log) {
      for (size_t k = 0; k < r.loss_plus.size(); ++k) {
        StepRecord rec;
        rec.step = step;
        rec.perturbation = static_cast<int>(k);
        rec.loss_plus = r.loss_plus[k];
        rec.loss_minus = r.loss_minus[k];
        rec.proj_grad_raw = r.raw_grad[k];
        rec.proj_grad_clipped = r.clipped_grad[k];
        rec.clipped = r.clipped_grad[k] != r.raw_grad[k];
        rec.lr = rate;
        rec.tokens = global_tokens;
        rec.wall_s = train_seconds_so_far();
        rec.skipped_steps = skipped;
        log->step(rec);
      }
    }
    const double loss = 0.5 * (r.loss_plus[0] + r.loss_minus[0]);
    if (std::isfinite(loss)) loss_ema = std::isnan(loss_ema) ? loss : 0.95 * loss_ema + 0.05 * loss;
    if (root && ((step + 1) % log_interval == 0 || step == 0)) {
      char d[96];  // the projected gradient d (ZO) or the gradient's global norm (backprop)
      if (r.clipped) std::snprintf(d, sizeof d, "%+.2e (clipped %+.2e)", r.raw_grad[0], r.clipped_grad[0]);
      else std::snprintf(d, sizeof d, "%+.2e", r.raw_grad[0]);
      std::printf("step %ld/%d | loss %.4f | %s %s | lr %.1e | %.0f ms | %s tok/s | eta %s%s\n", step + 1, steps,
                  loss_ema, trainables.backprop ? "|g|" : "d", d, rate, ms, format_rate(clock.tokens_per_second()).c_str(), clock.eta(step + 1 - first_step).c_str(),
                  r.skipped ? " | skipped (non-finite)" : "");
      std::fflush(stdout);
    }
    if (eval_interval > 0 && (step + 1) % eval_interval == 0 && step + 1 < steps) consider_dev(step + 1);
    if (guard_interval > 0 && (step + 1) % guard_interval == 0 && step + 1 < steps) guard(step + 1);
    if (checkpoint_interval > 0 && (step + 1) % checkpoint_interval == 0 && step + 1 < steps)
      save_checkpoint_at(step + 1);
    fail_for_test(step + 1);
    signal_for_test(step + 1, comm);
    if (step + 1 < steps) stop_if_signalled(step + 1);
  }
  if (steps > 0) {
    guard(steps);
    consider_dev(steps);
    if (!best_state.empty()) params->restore(best_state);
  }

  const TaskScore final_score = evaluate(scored, scored_examples);
  log_eval(steps, score_on_dev ? "dev_final" : "eval", final_score);
  const double train_seconds = train_seconds_so_far();  // steps only: no evaluation, checkpoint or log
  summary["final"] = final_score.value;
  if (!params) {
    summary["zero_shot"] = final_score.value;
    log_eval(0, "zero_shot", final_score);
  }
  summary["final_parts"] = nlohmann::json::object();
  for (const auto& [name, value] : final_score.parts) summary["final_parts"][name] = value;
  summary["eval_examples"] = scored.size();
  summary["steps"] = steps;
  summary["best_dev"] = std::isfinite(best_dev) ? nlohmann::json(best_dev) : nlohmann::json(nullptr);
  summary["best_step"] = best_step;
  summary["clip_rate"] = perturbations ? double(clipped) / double(perturbations) : 0.0;
  summary["skipped_steps"] = skipped;
  summary["train_seconds"] = train_seconds;
  // This attempt's steps over this attempt's seconds (a resumed run may run on other hardware).
  summary["ms_per_step"] = steps > first_step ? 1e3 * clock.step_seconds() / double(steps - first_step) : 0.0;
  summary["resumed_from_step"] = first_step;
  summary["tokens_per_second"] = train_seconds > 0 ? double(tokens_total) / train_seconds : 0.0;
  summary["dist_mode"] = cfg.get<std::string>("dist.mode");
  summary["replica_checks"] = guard_checks;
  if (params) {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(params->state_hash()));
    summary["state_hash"] = hash;
  }
  summary["bytes_reduced_per_step"] = steps > first_step ? double(step_bytes) / double(steps - first_step) : 0.0;
  // What a backprop method would all-reduce per step instead: fp32 gradients of the
  // trainable set (the scales, for QZO) and of every weight (full fine-tuning).
  summary["gradient_allreduce_bytes"] = {{"trainable", params ? 4.0 * double(params->size()) : 0.0},
                                         {"full_model", 4.0 * double(model.num_parameters())}};
  summary["memory"] = {{"weights_bytes", loaded.weight_bytes()},
                       {"trainable_bytes", params ? params->trainable_bytes() : 0},
                       {"optimizer_bytes", params ? params->optimizer_bytes() : 0},
                       {"peak_rss_bytes", run_peak_rss_bytes()},
                       {"rss_reset", rss_reset ? 1 : 0}};  // a number, as the HDF5 memory group keeps numbers
  // The allocator's peaks by component on this run's backend (rank 0's replica).
  const MemoryStats& mem = loaded.backend->memory();
  for (int c = 0; c < kMemoryComponents; ++c)
    summary["memory"][std::string("peak_") + memory_component_name(MemoryComponent(c)) + "_bytes"] = mem.peak[c];
  summary["memory"]["peak_total_bytes"] = mem.peak_total;
  summary["compute_backend"] = loaded.backend->name();
  summary["total_seconds"] = total_clock.elapsed();
  summary["hosts"] = hosts;
  if (root && method == "qlora") {  // the dev-selected adapter, for PEFT and `qzo merge`
    const auto& lora = static_cast<const LoraParameters&>(*trainables.backprop);
    save_peft_adapter(lora, run_dir + "/adapter", cfg.get<std::string>("model.path"));
    save_adapter_base(run_dir + "/adapter",
                      {cfg.get<std::string>("model.path"),
                       folder_is_quantized_model(cfg.get<std::string>("model.path")) ? "none"
                                                                                     : loaded.quantized->spec().to_string()});
    summary["adapter"] = run_dir + "/adapter";
  }
  if (log) log->finish(summary, "finished");
  if (root) {
    write_text_file_atomically(run_dir + "/summary.json", summary.dump(2) + "\n");
    fs::remove(checkpoint_path);  // the run is complete: a rerun starts over
    auto four_places = [](double v) {
      char text[32];
      std::snprintf(text, sizeof text, "%.4f", v);
      return std::string(text);
    };
    const std::string zs = summary.contains("zero_shot") ? four_places(summary["zero_shot"].get<double>()) : "-";
    const std::string split = score_on_dev ? "dev " : "";
    std::printf("\n| run | method | quant | %s%s before | %s%s after | best dev (step) | steps | clip rate | time |\n",
                split.c_str(), final_score.metric.c_str(), split.c_str(), final_score.metric.c_str());
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %s | %s | %s | %.4f | %s | %d | %.2f | %s |\n", run_name.c_str(), method.c_str(),
                summary["quant"].get<std::string>().c_str(), zs.c_str(), final_score.value,
                std::isfinite(best_dev) ? (four_places(best_dev) + " (" + std::to_string(best_step) + ")").c_str()
                                        : "-",
                steps, summary["clip_rate"].get<double>(), format_duration(total_clock.elapsed()).c_str());
    if (steps > 0 && comm.size() > 1)
      std::printf("communication: %.0f B all-reduced per step (a gradient all-reduce would move %s for the %zu "
                  "trainable values, %s for all weights)\n",
                  summary["bytes_reduced_per_step"].get<double>(), format_bytes(4.0 * double(params->size())).c_str(),
                  params->size(), format_bytes(4.0 * double(model.num_parameters())).c_str());
    std::string components;
    for (int c = 0; c < kMemoryComponents; ++c)
      components += std::string(memory_component_name(MemoryComponent(c))) + " " + format_bytes(double(mem.peak[c])) + " | ";
    std::printf("memory on %s (allocator peaks): %stotal %s | peak RSS %s%s\n", loaded.backend->name().c_str(),
                components.c_str(), format_bytes(double(mem.peak_total)).c_str(),
                format_bytes(double(summary["memory"]["peak_rss_bytes"].get<size_t>())).c_str(),
                rss_reset ? " (this run's)" : " (the process's: the reset was refused)");
    std::printf("summary: %s/summary.json\n", run_dir.c_str());
  }
  return summary;
}

}  // namespace

std::unique_ptr<QzoParameters> qzo_parameters(const Config& cfg, QuantizedModel& model) {
  return std::make_unique<QzoParameters>(model, float(cfg.get<double>("method.scale_floor")),
                                         parse_scale_perturbation(cfg.get<std::string>("method.perturbation")));
}

nlohmann::json run_training(const Config& cfg, Communicator& comm, RunLog* log) {
  return run_training_with(RunOptions{}, cfg, comm, log);
}

nlohmann::json run_training_with(const RunOptions& options, const Config& cfg, Communicator& comm, RunLog* log) {
  try {
    return train_and_evaluate(cfg, comm, log, options);
  } catch (const Interrupted&) {
    if (log && comm.rank() == 0) log->finish(nlohmann::json::object(), "interrupted");
    throw;
  } catch (const std::exception& e) {
    if (log && comm.rank() == 0) log->finish(nlohmann::json::object(), std::string("failed: ") + e.what());
    throw;
  }
}

}  // namespace qzo
