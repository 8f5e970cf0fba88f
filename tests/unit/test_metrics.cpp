// Task metrics on hand-computed cases: SQuAD normalization, exact match and token F1,
// macro-F1 (CB), answer-level F1 (MultiRC), and score_predictions picking the spec's metric.
#include <gtest/gtest.h>

#include "framework/core/error.h"
#include "framework/tasks/metrics.h"

namespace qzo {
namespace {

Example choice(int label, int n = 2) {
  Example e;
  e.prompt = "p";
  for (int i = 0; i < n; ++i) e.candidates.push_back("c" + std::to_string(i));
  e.label = label;
  e.correct_labels = {label};
  e.id = "ex" + std::to_string(label);
  return e;
}

TEST(Metrics, NormalizeAnswerFollowsTheSquadScript) {
  EXPECT_EQ(normalize_answer("The Quick, Brown fox!"), "quick brown fox");
  EXPECT_EQ(normalize_answer("  An apple a day\tkeeps\n the doctor away. "), "apple day keeps doctor away");
  EXPECT_EQ(normalize_answer("theory and anthem"), "theory and anthem");  // only whole words go
  EXPECT_EQ(normalize_answer("A-B"), "ab");          // punctuation goes before articles are looked for
  EXPECT_EQ(normalize_answer("the_end"), "theend");  // '_' is punctuation too
  EXPECT_EQ(normalize_answer("(a)"), "");
  EXPECT_EQ(normalize_answer("\xc3\x89T\xc3\x89 1850"), "\xc3\xa9t\xc3\xa9 1850");  // ÉTÉ -> été
  EXPECT_EQ(normalize_answer("caf\xc3\xa9\xc2\xa0the\xc2\xa0menu"),
            "caf\xc3\xa9 menu");  // no-break spaces split
}

TEST(Metrics, ExactMatchTakesAnyGoldAnswer) {
  EXPECT_EQ(exact_match("in 1850.", {"1850", "In 1850"}), 1.0);
  EXPECT_EQ(exact_match("The Harbour Board", {"harbour board"}), 1.0);
  EXPECT_EQ(exact_match("1851", {"1850", "in 1850"}), 0.0);
}

TEST(Metrics, TokenF1IsTheBestOverGoldAnswers) {
  // "cat sat on mat" vs "cat sat": 2 shared, precision 2/4, recall 2/2 -> 2/3.
  EXPECT_NEAR(token_f1("the cat sat on the mat", {"a cat sat"}), 2.0 / 3.0, 1e-12);
  // vs "cat sat on a rug" ("cat sat on rug"): 3 shared of 4 and 4 -> 0.75; the best wins.
  EXPECT_NEAR(token_f1("the cat sat on the mat", {"a cat sat", "cat sat on a rug"}), 0.75, 1e-12);
  // Repeated tokens count at most as often as they occur in both.
  EXPECT_NEAR(token_f1("no no no", {"no"}), 0.5, 1e-12);  // p 1/3, r 1 -> 0.5
  EXPECT_EQ(token_f1("elephant", {"giraffe"}), 0.0);
  EXPECT_EQ(token_f1("the", {"a"}), 0.0);  // both normalize to nothing
}

TEST(Metrics, MacroF1AveragesPerClassF1) {
  // class 0: tp 1 fp 1 fn 1 -> 1/2; class 1: tp 2 fp 1 fn 0 -> 4/5; class 2: tp 1 fp 0 fn 1 -> 2/3.
  const std::vector<int> gold = {0, 0, 1, 1, 2, 2}, pred = {0, 1, 1, 1, 2, 0};
  EXPECT_NEAR(macro_f1(gold, pred), (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-12);
  EXPECT_NEAR(accuracy(gold, pred), 4.0 / 6.0, 1e-12);
  // A class that is neither gold nor predicted is not averaged in (sklearn's behaviour).
  EXPECT_NEAR(macro_f1({0, 1}, {0, 1}), 1.0, 1e-12);
  // One predicted but never gold counts with F1 0: classes {0, 1}, F1 (2/3, 0).
  EXPECT_NEAR(macro_f1({0, 0}, {0, 1}), (2.0 / 3.0 + 0.0) / 2.0, 1e-12);
}

TEST(Metrics, AnswerLevelF1CountsOnlyThePositiveLabel) {
  // positive 1: tp 2 (idx 0, 3), fp 1 (idx 2), fn 1 (idx 1) -> 4/6.
  EXPECT_NEAR(binary_f1({1, 1, 0, 1, 0}, {1, 0, 1, 1, 0}, 1), 4.0 / 6.0, 1e-12);
  EXPECT_EQ(binary_f1({0, 0}, {0, 0}, 1), 0.0);
}

TEST(Metrics, ScorePredictionsUsesTheSpecMetric) {
  const TaskSpec cb = load_task_spec("cb");
  std::vector<Example> ex;
  for (int g : {0, 0, 1, 1, 2, 2}) ex.push_back(choice(g, 3));
  const TaskScore s = score_predictions(cb, ex, std::vector<int>{0, 1, 1, 1, 2, 0});
  EXPECT_EQ(s.metric, "f1_macro");
  EXPECT_NEAR(s.value, (0.5 + 0.8 + 2.0 / 3.0) / 3.0, 1e-12);
  EXPECT_EQ(s.parts.at(1).first, "accuracy");
  EXPECT_NEAR(s.parts.at(1).second, 4.0 / 6.0, 1e-12);
  EXPECT_EQ(s.count, 6u);

  const TaskSpec multirc = load_task_spec("multirc");  // verbalizer 0: No, 1: Yes; positive 1
  std::vector<Example> options;
  for (int g : {1, 1, 0, 1, 0}) options.push_back(choice(g));
  const TaskScore m = score_predictions(multirc, options, std::vector<int>{1, 0, 1, 1, 0});
  EXPECT_EQ(m.metric, "f1_answer_level");
  EXPECT_NEAR(m.value, 4.0 / 6.0, 1e-12);

  const TaskSpec squad = load_task_spec("squad");
  Example q1, q2;
  q1.answers = {"1850", "in 1850"};
  q2.answers = {"the harbour board"};
  const TaskScore g = score_predictions(squad, {q1, q2}, std::vector<std::string>{" 1850\n", "harbour"});
  EXPECT_EQ(g.metric, "f1");
  EXPECT_NEAR(g.value, (1.0 + 2.0 / 3.0) / 2.0, 1e-12);  // "harbour" vs "harbour board": p 1, r 1/2
  EXPECT_EQ(g.parts.at(1).first, "em");
  EXPECT_NEAR(g.parts.at(1).second, 0.5, 1e-12);
}

TEST(Metrics, AnyCorrectCandidateCountsForAccuracy) {
  const TaskSpec record = load_task_spec("record");
  Example e = choice(0, 3);
  e.correct_labels = {0, 1};  // two aliases of the answer entity
  const TaskScore s = score_predictions(record, {e, e, e}, std::vector<int>{0, 1, 2});
  EXPECT_NEAR(s.value, 2.0 / 3.0, 1e-12);
}

TEST(Metrics, MismatchedPredictionsAreOneLineErrors) {
  const TaskSpec sst2 = load_task_spec("sst2");
  const std::vector<Example> ex = {choice(0), choice(1)};
  try {
    score_predictions(sst2, ex, std::vector<int>{0});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "task sst2: 1 predictions for 2 examples");
  }
  try {
    score_predictions(sst2, ex, std::vector<int>{0, 2});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "task sst2: prediction 2 for example ex1 is not one of its 2 candidates");
  }
  EXPECT_THROW(score_predictions(sst2, ex, std::vector<std::string>{"a", "b"}), Error);
  EXPECT_THROW(score_predictions(load_task_spec("squad"), ex, std::vector<int>{0, 1}), Error);
}

}  // namespace
}  // namespace qzo
