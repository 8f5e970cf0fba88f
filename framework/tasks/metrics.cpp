// Task metrics. The SQuAD normalization follows the official evaluation script's four steps
// (lower, strip punctuation, strip articles, fix whitespace) with Python's Unicode notions of
// lower case, word characters and whitespace, so scores compare with published ones.
#include "framework/tasks/metrics.h"

#include <algorithm>
#include <map>
#include <set>

#include <utf8proc.h>

#include "framework/core/error.h"

namespace qzo {
namespace {

std::vector<utf8proc_int32_t> code_points(const std::string& s) {
  std::vector<utf8proc_int32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    utf8proc_int32_t cp;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                    static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) {  // not UTF-8: read the byte as latin-1 rather than lose it
      out.push_back(static_cast<unsigned char>(s[i++]));
      continue;
    }
    out.push_back(cp);
    i += static_cast<size_t>(n);
  }
  return out;
}

void append_utf8(std::string& out, utf8proc_int32_t cp) {
  utf8proc_uint8_t buf[4];
  const auto n = utf8proc_encode_char(cp, buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

bool is_ascii_punctuation(utf8proc_int32_t c) {  // Python's string.punctuation
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

bool is_word_char(utf8proc_int32_t c) {  // Python's \w on str: alphanumeric or underscore
  if (c == '_') return true;
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

bool is_whitespace(utf8proc_int32_t c) {  // what Python's str.split() splits on
  if ((c >= 9 && c <= 13) || (c >= 28 && c <= 32) || c == 0x85) return true;
  const auto cat = utf8proc_category(c);
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

bool is_article(const std::vector<utf8proc_int32_t>& s, size_t b, size_t e) {
  const size_t n = e - b;
  if (n == 1) return s[b] == 'a';
  if (n == 2) return s[b] == 'a' && s[b + 1] == 'n';
  if (n == 3) return s[b] == 't' && s[b + 1] == 'h' && s[b + 2] == 'e';
  return false;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find(' ', start);
    if (end == std::string::npos) {
      words.push_back(text.substr(start));
      break;
    }
    if (end > start) words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

void check_sizes(const TaskSpec& spec, size_t examples, size_t predictions) {
  if (examples != predictions)
    fail("task " + spec.name + ": " + std::to_string(predictions) + " predictions for " +
         std::to_string(examples) + " examples");
}

}  // namespace

double accuracy(const std::vector<int>& gold, const std::vector<int>& predicted) {
  if (gold.size() != predicted.size()) fail("accuracy: gold and predicted labels differ in number");
  if (gold.empty()) return 0;
  size_t right = 0;
  for (size_t i = 0; i < gold.size(); ++i) right += gold[i] == predicted[i];
  return static_cast<double>(right) / static_cast<double>(gold.size());
}

double binary_f1(const std::vector<int>& gold, const std::vector<int>& predicted, int positive) {
  if (gold.size() != predicted.size()) fail("f1: gold and predicted labels differ in number");
  size_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    const bool g = gold[i] == positive, p = predicted[i] == positive;
    tp += g && p;
    fp += !g && p;
    fn += g && !p;
  }
  const size_t denominator = 2 * tp + fp + fn;
  return denominator == 0 ? 0.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(denominator);
}

double macro_f1(const std::vector<int>& gold, const std::vector<int>& predicted) {
  if (gold.size() != predicted.size()) fail("f1_macro: gold and predicted labels differ in number");
  std::set<int> classes(gold.begin(), gold.end());
  classes.insert(predicted.begin(), predicted.end());
  if (classes.empty()) return 0;
  double sum = 0;
  for (int c : classes) sum += binary_f1(gold, predicted, c);
  return sum / static_cast<double>(classes.size());
}

std::string normalize_answer(const std::string& text) {
  std::vector<utf8proc_int32_t> s;
  for (utf8proc_int32_t c : code_points(text))
    if (!is_ascii_punctuation(c)) s.push_back(utf8proc_tolower(c));
  // A maximal run of word characters that reads a/an/the is the regex \b(a|an|the)\b.
  for (size_t i = 0; i < s.size();) {
    if (!is_word_char(s[i])) {
      ++i;
      continue;
    }
    size_t e = i;
    while (e < s.size() && is_word_char(s[e])) ++e;
    if (is_article(s, i, e))
      std::fill(s.begin() + static_cast<long>(i), s.begin() + static_cast<long>(e), ' ');
    i = e;
  }
  std::string out;
  bool gap = false;
  for (utf8proc_int32_t c : s) {
    if (is_whitespace(c)) {
      gap = !out.empty();
      continue;
    }
    if (gap) out += ' ';
    gap = false;
    append_utf8(out, c);
  }
  return out;
}

double exact_match(const std::string& prediction, const std::vector<std::string>& gold) {
  const std::string p = normalize_answer(prediction);
  for (const std::string& g : gold)
    if (normalize_answer(g) == p) return 1;
  return 0;
}

double token_f1(const std::string& prediction, const std::vector<std::string>& gold) {
  const std::vector<std::string> p = split_words(normalize_answer(prediction));
  double best = 0;
  for (const std::string& answer : gold) {
    const std::vector<std::string> g = split_words(normalize_answer(answer));
    std::map<std::string, int> counts;
    for (const std::string& w : g) ++counts[w];
    int same = 0;
    for (const std::string& w : p)
      if (auto it = counts.find(w); it != counts.end() && it->second > 0) {
        --it->second;
        ++same;
      }
    if (same == 0) continue;
    const double precision = static_cast<double>(same) / static_cast<double>(p.size());
    const double recall = static_cast<double>(same) / static_cast<double>(g.size());
    best = std::max(best, 2 * precision * recall / (precision + recall));
  }
  return best;
}

TaskScore score_predictions(const TaskSpec& spec, const std::vector<Example>& examples,
                            const std::vector<Prediction>& predictions) {
  check_sizes(spec, examples.size(), predictions.size());
  TaskScore score;
  score.count = examples.size();
  if (spec.kind == TaskKind::generation) {
    double em = 0, f1 = 0;
    for (size_t i = 0; i < examples.size(); ++i) {
      em += exact_match(predictions[i].text, examples[i].answers);
      f1 += token_f1(predictions[i].text, examples[i].answers);
    }
    const double n = examples.empty() ? 1.0 : static_cast<double>(examples.size());
    score.metric = "f1";
    score.value = f1 / n;
    score.parts = {{"f1", f1 / n}, {"em", em / n}};
    return score;
  }

  std::vector<int> gold, predicted;
  size_t right = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example& ex = examples[i];
    const int p = predictions[i].index;
    if (p < 0 || p >= static_cast<int>(ex.candidates.size()))
      fail("task " + spec.name + ": prediction " + std::to_string(p) + " for example " + ex.id +
           " is not one of its " + std::to_string(ex.candidates.size()) + " candidates");
    const std::vector<int>& correct =
        ex.correct_labels.empty() ? std::vector<int>{ex.label} : ex.correct_labels;
    right += std::find(correct.begin(), correct.end(), p) != correct.end();
    gold.push_back(ex.label);
    predicted.push_back(p);
  }
  const double acc =
      examples.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(examples.size());
  switch (spec.metric) {
    case TaskMetric::f1_macro: {
      const double f1 = macro_f1(gold, predicted);
      score.metric = "f1_macro";
      score.value = f1;
      score.parts = {{"f1_macro", f1}, {"accuracy", acc}};
      return score;
    }
    case TaskMetric::f1_answer_level: {
      int positive = -1;
      for (size_t c = 0; c < spec.verbalizer.size(); ++c)
        if (spec.verbalizer[c].first == spec.positive_label) positive = static_cast<int>(c);
      const double f1 = binary_f1(gold, predicted, positive);
      score.metric = "f1_answer_level";
      score.value = f1;
      score.parts = {{"f1_answer_level", f1}, {"accuracy", acc}};
      return score;
    }
    default:
      score.metric = "accuracy";
      score.value = acc;
      score.parts = {{"accuracy", acc}};
      return score;
  }
}

TaskScore score_predictions(const TaskSpec& spec, const std::vector<Example>& examples,
                            const std::vector<int>& predicted_indices) {
  if (spec.kind == TaskKind::generation)
    fail("task " + spec.name + " is a generation task: score generated text, not candidate indices");
  std::vector<Prediction> p(predicted_indices.size());
  for (size_t i = 0; i < p.size(); ++i) p[i].index = predicted_indices[i];
  return score_predictions(spec, examples, p);
}

TaskScore score_predictions(const TaskSpec& spec, const std::vector<Example>& examples,
                            const std::vector<std::string>& generated) {
  if (spec.kind != TaskKind::generation)
    fail("task " + spec.name + " scores candidate indices, not generated text");
  std::vector<Prediction> p(generated.size());
  for (size_t i = 0; i < p.size(); ++i) p[i].text = generated[i];
  return score_predictions(spec, examples, p);
}

}  // namespace qzo
