#include "framework/train/task_encoding.h"

#include <algorithm>
#include <cmath>

#include "framework/core/error.h"
#include "framework/model/generate.h"

namespace qzo {

TaskEncoder::TaskEncoder(const Tokenizer& tokenizer, const TaskSpec& spec, const EncodingOptions& options)
    : tokenizer_(tokenizer), spec_(spec), options_(options) {}

EncodedExample TaskEncoder::encode(const Example& example, const std::string& prompt_text) const {
  EncodedExample e;
  e.label = example.label;
  for (const std::string& c : example.candidates) {
    e.candidates.push_back(tokenizer_.encode(c, false));
    if (e.candidates.back().empty()) fail(spec_.file + ": candidate '" + c + "' encodes to no tokens");
  }
  if (!example.target.empty()) e.target = tokenizer_.encode(example.target, false);
  size_t longest = e.target.size();
  for (const auto& c : e.candidates) longest = std::max(longest, c.size());
  const int bos = tokenizer_.bos_id() >= 0 ? 1 : 0;
  const int budget = std::min(options_.max_prompt_tokens, options_.max_total_tokens - static_cast<int>(longest));
  if (budget <= bos) fail(spec_.file + ": a continuation of " + std::to_string(longest) + " tokens leaves no room for the prompt");
  std::vector<int32_t> body = tokenizer_.encode(prompt_text, false);
  const size_t keep = static_cast<size_t>(budget - bos);
  // The end of a prompt carries the question/cue, so an over-long prompt loses its start.
  if (body.size() > keep) body.erase(body.begin(), body.end() - static_cast<std::ptrdiff_t>(keep));
  if (bos) e.prompt.push_back(tokenizer_.bos_id());
  e.prompt.insert(e.prompt.end(), body.begin(), body.end());
  return e;
}

std::vector<EncodedExample> TaskEncoder::encode_all(const std::vector<Example>& examples) const {
  std::vector<EncodedExample> out(examples.size());
  for (size_t i = 0; i < examples.size(); ++i) out[i] = encode(examples[i], examples[i].prompt);
  return out;
}

Batch make_row_batch(const std::vector<TokenRow>& rows) {
  Batch b;
  b.B = static_cast<int>(rows.size());
  for (const auto& [prompt, cont] : rows)
    b.T = std::max<int>(b.T, static_cast<int>(prompt->size() + (cont ? cont->size() : 0)));
  b.tokens.assign(static_cast<size_t>(b.B) * b.T, 0);
  b.targets.assign(b.tokens.size(), -1);
  for (int r = 0; r < b.B; ++r) {
    const auto& [prompt, cont] = rows[r];
    int32_t* tok = &b.tokens[static_cast<size_t>(r) * b.T];
    int32_t* tgt = &b.targets[static_cast<size_t>(r) * b.T];
    std::copy(prompt->begin(), prompt->end(), tok);
    if (cont) {
      std::copy(cont->begin(), cont->end(), tok + prompt->size());
      // Position p predicts token p+1: the continuation's tokens are predicted from the
      // prompt's last position onwards.
      for (size_t i = 0; i < cont->size(); ++i) tgt[prompt->size() - 1 + i] = (*cont)[i];
    }
  }
  return b;
}

bool shared_single_token_candidates(const std::vector<EncodedExample>& examples, std::vector<int32_t>* ids) {
  if (examples.empty()) return false;
  for (const auto& c : examples[0].candidates) {
    if (c.size() != 1) return false;
    ids->push_back(c[0]);
  }
  for (const EncodedExample& e : examples) {
    if (e.candidates.size() != ids->size()) return false;
    for (size_t i = 0; i < ids->size(); ++i)
      if (e.candidates[i].size() != 1 || e.candidates[i][0] != (*ids)[i]) return false;
  }
  return true;
}

std::vector<std::vector<double>> score_candidates(const Model& model, const WeightSource& weights,
                                                  const std::vector<EncodedExample>& examples,
                                                  const EncodingOptions& options) {
  std::vector<std::vector<double>> scores(examples.size());
  std::vector<int32_t> shared;
  const size_t chunk = static_cast<size_t>(std::max(1, options.batch_rows));
  if (shared_single_token_candidates(examples, &shared)) {
    for (size_t start = 0; start < examples.size(); start += chunk) {
      const size_t end = std::min(examples.size(), start + chunk);
      std::vector<TokenRow> rows;
      for (size_t i = start; i < end; ++i) rows.emplace_back(&examples[i].prompt, nullptr);
      Batch b = make_row_batch(rows);
      // One labelled position per row: the prompt's last token, whose next-token
      // distribution holds every candidate's probability.
      for (size_t i = start; i < end; ++i)
        b.targets[(i - start) * b.T + examples[i].prompt.size() - 1] = shared[0];
      const std::vector<float> lp = model.forward_candidate_logprobs(b, shared, &weights);
      for (size_t i = start; i < end; ++i)
        scores[i].assign(lp.begin() + (i - start) * shared.size(), lp.begin() + (i - start + 1) * shared.size());
    }
    return scores;
  }
  // General case: one row per (example, candidate), mean log-likelihood over its tokens.
  std::vector<std::pair<size_t, size_t>> owners;
  std::vector<TokenRow> rows;
  auto flush = [&] {
    if (rows.empty()) return;
    const LossSums s = model.forward_loss(make_row_batch(rows), &weights);
    for (size_t r = 0; r < rows.size(); ++r)
      scores[owners[r].first][owners[r].second] = -s.row_loss[r] / double(std::max<int64_t>(1, s.row_count[r]));
    rows.clear();
    owners.clear();
  };
  for (size_t i = 0; i < examples.size(); ++i) {
    scores[i].assign(examples[i].candidates.size(), 0.0);
    for (size_t c = 0; c < examples[i].candidates.size(); ++c) {
      rows.emplace_back(&examples[i].prompt, &examples[i].candidates[c]);
      owners.emplace_back(i, c);
      if (rows.size() == chunk) flush();
    }
  }
  flush();
  return scores;
}

ObjectiveSum task_objective(const Model& model, const WeightSource& weights, const std::vector<EncodedExample>& batch,
                            bool generation, const EncodingOptions& options) {
  ObjectiveSum out;
  for (const EncodedExample& e : batch) out.tokens += static_cast<int64_t>(e.prompt.size());
  if (generation) {
    std::vector<TokenRow> rows;
    for (const EncodedExample& e : batch) {
      if (e.target.empty()) fail("task: a generation example has no gold answer to train on");
      rows.emplace_back(&e.prompt, &e.target);
      out.tokens += static_cast<int64_t>(e.target.size());
    }
    const LossSums s = model.forward_loss(make_row_batch(rows), &weights);
    out.sum = s.total_loss;
    out.count = double(s.total_count);
    return out;
  }
  const auto scores = score_candidates(model, weights, batch, options);
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& s = scores[i];
    const double m = *std::max_element(s.begin(), s.end());
    double z = 0;
    for (double v : s) z += std::exp(v - m);
    out.sum += std::log(z) + m - s[batch[i].label];
    out.count += 1;
  }
  return out;
}

std::vector<Prediction> predict(const Model& model, const WeightSource& weights,
                                const std::vector<EncodedExample>& examples, bool generation,
                                const EncodingOptions& options, const Tokenizer& tokenizer, int max_new_tokens) {
  std::vector<Prediction> out(examples.size());
  if (!generation) {
    const auto scores = score_candidates(model, weights, examples, options);
    for (size_t i = 0; i < examples.size(); ++i)
      out[i].index = static_cast<int>(std::max_element(scores[i].begin(), scores[i].end()) - scores[i].begin());
    return out;
  }
  Generator gen(model, &weights);
  SamplingOptions s;
  s.max_new_tokens = max_new_tokens;
  s.stop_token = tokenizer.eos_id();
  for (size_t i = 0; i < examples.size(); ++i) {
    std::vector<int32_t> produced;
    std::string text;
    gen.generate(examples[i].prompt, s, [&](int32_t id) { produced.push_back(id); });
    text = tokenizer.decode(produced, true);
    const size_t newline = text.find('\n');
    out[i].text = newline == std::string::npos ? text : text.substr(0, newline);
  }
  return out;
}

}  // namespace qzo
