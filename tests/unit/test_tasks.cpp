// Fine-tuning tasks: every built-in YAML loads, each fixture renders MeZO's prompt exactly,
// sampling is deterministic and disjoint, errors are located, and the spam task draws
// balanced, body-disjoint splits from the 2,400 held-out emails.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/data/spam_assassin.h"
#include "framework/tasks/task.h"
#include "tests/support/error_of.h"

namespace qzo {
namespace {

const std::string kFixtures = std::string(QZO_TEST_DATA) + "/tasks";

// The first validation example of a built-in task, on its fixture.
Example first_eval(const std::string& task) {
  const TaskData data = load_task(load_task_spec(task), kFixtures, 1, 1, -1, 7);
  EXPECT_FALSE(data.eval.empty());
  return data.eval.front();
}

std::vector<std::string> ids(const std::vector<Example>& v) {
  std::vector<std::string> out;
  for (const Example& e : v) out.push_back(e.id);
  return out;
}

// A spec from inline YAML; `extra` replaces nothing, it is appended.
TaskSpec sst2_like(const std::string& extra = "") {
  return parse_task_spec(
      "kind: classification\n"
      "files: {train: sst2/train.jsonl, validation: sst2/validation.jsonl}\n"
      "template: \"{sentence|strip} It was\"\n"
      "label_field: label\n"
      "verbalizer: {0: terrible, 1: great}\n" +
          extra,
      "inline.yaml");
}

TEST(TaskSpec, EveryBuiltinYamlLoads) {
  const std::vector<std::string> names = builtin_task_names();
  for (const char* expected :
       {"sst2", "rte", "cb", "boolq", "wsc", "wic", "multirc", "copa", "record", "squad", "drop", "spam"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  for (const std::string& name : names) {
    const TaskSpec spec = load_task_spec(name);
    EXPECT_EQ(spec.name, name);
    EXPECT_FALSE(spec.prompt.text().empty()) << name;
    EXPECT_FALSE(spec.description.empty()) << name;
  }
}

TEST(TaskSpec, MetricsAndKindsFollowMezo) {
  EXPECT_EQ(load_task_spec("cb").metric, TaskMetric::f1_macro);
  EXPECT_EQ(load_task_spec("multirc").metric, TaskMetric::f1_answer_level);
  EXPECT_EQ(load_task_spec("multirc").positive_label, "1");
  EXPECT_EQ(load_task_spec("squad").kind, TaskKind::generation);
  EXPECT_EQ(load_task_spec("drop").metric, TaskMetric::em_f1);
  EXPECT_EQ(load_task_spec("copa").kind, TaskKind::multiple_choice);
  EXPECT_EQ(load_task_spec("record").kind, TaskKind::multiple_choice);
  EXPECT_EQ(load_task_spec("spam").source, TaskSource::spam_assassin);
}

TEST(TaskSpec, LoadsByPathToo) {
  const TaskSpec spec = load_task_spec(std::string(QZO_SOURCE_DIR) + "/configs/tasks/rte.yaml");
  EXPECT_EQ(spec.name, "rte");
  EXPECT_EQ(spec.verbalizer.size(), 2u);
  EXPECT_NE(spec.yaml.find("Does this mean that"), std::string::npos);
}

TEST(TaskSpec, UnknownTaskListsTheBuiltinOnes) {
  const std::string e = error_of([] { load_task_spec("sst3"); });
  EXPECT_NE(e.find("task 'sst3'"), std::string::npos) << e;
  EXPECT_NE(e.find("sst2"), std::string::npos) << e;
}

TEST(TaskSpec, UnknownKeyNamesFileAndLine) {
  const std::string e = error_of([] { sst2_like("verbaliser: {0: bad}\n"); });
  EXPECT_EQ(e, "inline.yaml:6: unknown key 'verbaliser' in a task file (see docs/tasks.md)");
}

TEST(TaskSpec, TemplateErrorsNameFileLineAndFilter) {
  const std::string e = error_of([] {
    parse_task_spec(
        "kind: classification\nfiles: {train: a, validation: b}\n"
        "template: \"{sentence|upper}\"\nlabel_field: label\nverbalizer: {0: a, 1: b}\n",
        "t.yaml");
  });
  EXPECT_EQ(e.rfind("t.yaml:3: template \"{sentence|upper}\": unknown filter 'upper'", 0), 0u) << e;
  const std::string brace = error_of([] {
    parse_task_spec(
        "kind: classification\nfiles: {train: a, validation: b}\n"
        "template: \"{sentence\"\nlabel_field: label\nverbalizer: {0: a, 1: b}\n",
        "t.yaml");
  });
  EXPECT_NE(brace.find("t.yaml:3:"), std::string::npos) << brace;
  EXPECT_NE(brace.find("unclosed '{'"), std::string::npos) << brace;
}

TEST(TaskSpec, MetricMustFitKindAndMissingKeysAreNamed) {
  const std::string e = error_of([] { sst2_like("metric: em_f1\n"); });
  EXPECT_EQ(e.rfind("inline.yaml:6: metric 'em_f1' does not fit kind 'classification'", 0), 0u) << e;
  const std::string missing = error_of([] {
    parse_task_spec("kind: generation\nfiles: {train: a, validation: b}\nmetric: em_f1\ntemplate: x\n",
                    "g.yaml");
  });
  EXPECT_EQ(missing, "g.yaml: missing key 'answers_field' (the record's list of gold answers)");
  const std::string positive = error_of([] { sst2_like("metric: f1_answer_level\npositive_label: 2\n"); });
  EXPECT_EQ(positive.rfind("inline.yaml:7: metric f1_answer_level needs positive_label", 0), 0u) << positive;
}

TEST(TaskFixtures, Sst2) {
  const Example e = first_eval("sst2");
  EXPECT_EQ(e.prompt, "a quietly moving film It was");
  EXPECT_EQ(e.candidates, (std::vector<std::string>{" terrible", " great"}));
  EXPECT_EQ(e.label, 1);
  EXPECT_EQ(e.target, " great");
  EXPECT_EQ(e.id, "0");
}

TEST(TaskFixtures, Rte) {
  const Example e = first_eval("rte");
  EXPECT_EQ(e.prompt,
            "The museum opened in 1901.\nDoes this mean that \"The museum is over a century old.\" is true? "
            "Yes or No?\n");
  EXPECT_EQ(e.candidates, (std::vector<std::string>{"Yes", "No"}));
  EXPECT_EQ(e.label, 0);
}

TEST(TaskFixtures, Cb) {
  const Example e = first_eval("cb");
  EXPECT_EQ(e.prompt,
            "Suppose Anna said the train might be late. Can we infer that \"the train was late\"? Yes, No, "
            "or Maybe?\n");
  EXPECT_EQ(e.candidates, (std::vector<std::string>{"Yes", "No", "Maybe"}));
  EXPECT_EQ(e.label, 2);
  EXPECT_EQ(e.id, "3");
}

TEST(TaskFixtures, BoolqCapitalisesTheQuestionAndAddsAQuestionMark) {
  const Example e = first_eval("boolq");
  EXPECT_EQ(e.prompt, "The river runs 300 km; the canal runs 40 km. Is the river longer than the canal?\n");
  EXPECT_EQ(e.candidates, (std::vector<std::string>{"No", "Yes"}));
  EXPECT_EQ(e.label, 1);
  const TaskData data = load_task(load_task_spec("boolq"), kFixtures, 0, 0, -1, 1);
  EXPECT_EQ(data.eval[1].prompt, "The canal was dug in 1820. Is the canal older than the river?\n");
}

TEST(TaskFixtures, WscLowercasesThePronoun) {
  const Example e = first_eval("wsc");
  EXPECT_EQ(
      e.prompt,
      "Mark thanked Paul because He had helped.\nIn the previous sentence, does the pronoun \"he\" refer to "
      "Paul? Yes or No?\n");
  EXPECT_EQ(e.candidates, (std::vector<std::string>{"No", "Yes"}));
  EXPECT_EQ(e.label, 1);
}

TEST(TaskFixtures, Wic) {
  const Example e = first_eval("wic");
  EXPECT_EQ(
      e.prompt,
      "Does the word \"bank\" have the same meaning in these two sentences? Yes, No?\nShe sat on the bank.\n"
      "He robbed a bank.\n");
  EXPECT_EQ(e.candidates, (std::vector<std::string>{"No", "Yes"}));
  EXPECT_EQ(e.label, 0);
}

TEST(TaskFixtures, MultircIsOneExamplePerAnswerOption) {
  const TaskData data = load_task(load_task_spec("multirc"), kFixtures, 1, 1, -1, 7);
  ASSERT_EQ(data.eval.size(), 2u);
  EXPECT_EQ(
      data.eval[0].prompt,
      "Tom has two cats and a dog.\nQuestion: How many cats does Tom have?\nI found this answer \"Two\". "
      "Is that correct? Yes or No?\n");
  EXPECT_EQ(data.eval[0].candidates, (std::vector<std::string>{"No", "Yes"}));
  EXPECT_EQ(data.eval[0].label, 1);
  EXPECT_EQ(data.eval[1].label, 0);
  EXPECT_EQ(data.eval[0].id, kFixtures + "/multirc/validation.jsonl:1");  // no id_field
}

TEST(TaskFixtures, CopaJoinsPremiseAndChoiceWithTheConnective) {
  const TaskData data = load_task(load_task_spec("copa"), kFixtures, 1, 1, -1, 7);
  EXPECT_EQ(data.eval[0].prompt, "The glass fell off the table so");
  EXPECT_EQ(data.eval[0].candidates,
            (std::vector<std::string>{" it shattered.", " I poured water into it."}));
  EXPECT_EQ(data.eval[0].label, 0);
  EXPECT_EQ(data.eval[1].prompt, "The man turned on the fan because");
  EXPECT_EQ(data.eval[1].candidates, (std::vector<std::string>{" the room was cold.", " I was too hot."}));
  EXPECT_EQ(data.eval[1].label, 1);
  EXPECT_EQ(data.eval[1].target, " I was too hot.");
}

TEST(TaskFixtures, RecordFillsThePlaceholderWithEachDistinctEntity) {
  const TaskData data = load_task(load_task_spec("record"), kFixtures, 1, 1, -1, 7);
  const Example& e = data.eval[0];
  EXPECT_EQ(e.prompt, "Storm hits the coast.\n- Thousands lose power\n- Schools closed in Elmtown\n-");
  EXPECT_EQ(e.candidates, (std::vector<std::string>{" Officials in Elmtown expect repairs by Friday.",
                                                    " Officials in Storm expect repairs by Friday."}));
  EXPECT_EQ(e.label, 0);
  EXPECT_EQ(e.answers, (std::vector<std::string>{"Elmtown"}));
  const Example& two = data.eval[1];  // two gold aliases, both count
  EXPECT_EQ(two.candidates.size(), 3u);
  EXPECT_EQ(two.correct_labels, (std::vector<int>{0, 1}));
  EXPECT_EQ(two.candidates[2], " Porto will join in July.");
}

TEST(TaskFixtures, SquadIsGenerationWithEveryGoldAnswer) {
  const Example e = first_eval("squad");
  EXPECT_EQ(e.prompt,
            "Title: Lighthouse\nContext: The lighthouse was built in 1850 by the harbour board.\n"
            "Question: When was the lighthouse built?\nAnswer:");
  EXPECT_TRUE(e.candidates.empty());
  EXPECT_EQ(e.label, -1);
  EXPECT_EQ(e.answers, (std::vector<std::string>{"1850", "in 1850"}));
  EXPECT_EQ(e.target, " 1850\n");
  EXPECT_EQ(e.id, "q1");
}

TEST(TaskFixtures, DropReadsTheNestedAnswerSpans) {
  const Example e = first_eval("drop");
  EXPECT_EQ(e.prompt,
            "Passage: The Bears scored 14 points in the first half and 10 in the second.\n"
            "Question: How many points did the Bears score?\nAnswer:");
  EXPECT_EQ(e.answers, (std::vector<std::string>{"24"}));
  EXPECT_EQ(e.target, " 24\n");
  EXPECT_EQ(e.id, "d1");
}

TEST(TaskSampling, SameSeedSameSplitsAndTrainDevDisjoint) {
  const TaskSpec spec = load_task_spec("sst2");
  const TaskData a = load_task(spec, kFixtures, 4, 3, 2, 42);
  const TaskData b = load_task(spec, kFixtures, 4, 3, 2, 42);
  ASSERT_EQ(a.train.size(), 4u);
  ASSERT_EQ(a.dev.size(), 3u);
  ASSERT_EQ(a.eval.size(), 2u);
  EXPECT_EQ(ids(a.train), ids(b.train));
  EXPECT_EQ(ids(a.dev), ids(b.dev));
  EXPECT_EQ(ids(a.eval), ids(b.eval));
  std::set<std::string> seen;
  for (const auto& id : ids(a.train)) seen.insert(id);
  for (const auto& id : ids(a.dev)) EXPECT_TRUE(seen.insert(id).second) << id << " is in train and dev";
  // Another seed reorders the ten training examples; the eval draw stays put.
  bool differs = false;
  for (uint64_t seed = 43; seed < 48; ++seed) {
    const TaskData c = load_task(spec, kFixtures, 4, 3, 2, seed);
    differs |= ids(c.train) != ids(a.train);
    EXPECT_EQ(ids(c.eval), ids(a.eval));
  }
  EXPECT_TRUE(differs);
}

TEST(TaskSampling, TrainAndDevAreAPrefixOfOneShuffle) {
  const TaskSpec spec = load_task_spec("sst2");
  const TaskData all = load_task(spec, kFixtures, 10, 0, 0, 5);
  const TaskData split = load_task(spec, kFixtures, 6, 4, 0, 5);
  std::vector<std::string> joined = ids(split.train);
  for (const auto& id : ids(split.dev)) joined.push_back(id);
  EXPECT_EQ(joined, ids(all.train));
  std::vector<std::string> sorted = ids(all.train);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted,
            (std::vector<std::string>{"100", "101", "102", "103", "104", "105", "106", "107", "108", "109"}));
}

TEST(TaskSampling, EvalTakesTheWholeFileWhenAskedForMore) {
  const TaskData data = load_task(load_task_spec("sst2"), kFixtures, 1, 0, 99, 1);
  EXPECT_EQ(ids(data.eval), (std::vector<std::string>{"0", "1", "2", "3"}));
}

TEST(TaskSampling, AskingForMoreTrainingExamplesThanExistIsOneLine) {
  const std::string e = error_of([] { load_task(load_task_spec("sst2"), kFixtures, 8, 3, 1, 1); });
  EXPECT_EQ(e,
            "task sst2: n_train 8 + n_dev 3 exceeds the 10 examples of " + kFixtures + "/sst2/train.jsonl");
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST(SeededPermutation, IsAPermutationFixedBySeed) {
  const std::vector<size_t> p = seeded_permutation(1000, 9);
  std::vector<size_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_EQ(p, seeded_permutation(1000, 9));
  EXPECT_NE(p, seeded_permutation(1000, 10));
  EXPECT_TRUE(seeded_permutation(0, 1).empty());
}

TEST(TaskErrors, BadJsonNamesFileAndLine) {
  const TaskSpec spec = sst2_like();
  TaskSpec bad = spec;
  bad.validation_file = "errors/bad_json.jsonl";
  const std::string e = error_of([&] { load_task(bad, kFixtures, 1, 0, -1, 1); });
  EXPECT_EQ(e.rfind(kFixtures + "/errors/bad_json.jsonl:3: invalid JSON: ", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST(TaskErrors, MissingFieldNamesFileLineAndField) {
  TaskSpec spec = sst2_like();
  spec.validation_file = "errors/missing_field.jsonl";
  const std::string e = error_of([&] { load_task(spec, kFixtures, 1, 0, -1, 1); });
  EXPECT_EQ(e, kFixtures + "/errors/missing_field.jsonl:2: missing field 'sentence'");
}

TEST(TaskErrors, LabelOutsideTheVerbalizerIsNamed) {
  TaskSpec spec = sst2_like();
  spec.validation_file = "errors/unknown_label.jsonl";
  const std::string e = error_of([&] { load_task(spec, kFixtures, 1, 0, -1, 1); });
  EXPECT_EQ(e, kFixtures +
                   "/errors/unknown_label.jsonl:3: field 'label' is '7', which the verbalizer does not "
                   "list (0, 1)");
}

TEST(TaskErrors, MissingFileNamesThePath) {
  TaskSpec spec = sst2_like();
  spec.train_file = "nowhere/train.jsonl";
  const std::string e = error_of([&] { load_task(spec, kFixtures, 1, 0, -1, 1); });
  EXPECT_EQ(e, kFixtures + "/nowhere/train.jsonl: cannot read task data file");
}

TEST(TaskErrors, LineNumbersCountBlankLines) {
  // sst2/train.jsonl has a blank line 5: its ten records sit on lines 1-4 and 6-11.
  TaskSpec spec = sst2_like();
  spec.id_field.clear();
  const TaskData data = load_task(spec, kFixtures, 10, 0, 0, 3);
  const std::string prefix = kFixtures + "/sst2/train.jsonl:";
  std::set<int> lines;
  for (const std::string& id : ids(data.train)) {
    ASSERT_EQ(id.rfind(prefix, 0), 0u) << id;
    lines.insert(std::stoi(id.substr(prefix.size())));
  }
  EXPECT_EQ(lines, (std::set<int>{1, 2, 3, 4, 6, 7, 8, 9, 10, 11}));
}

TEST(PromptTemplate, FiltersBehaveAsDocumented) {
  const nlohmann::json r = {{"q", "is it on"}, {"p", "It rained. "}, {"c", "My dog barked."},
                            {"i", "I left."},  {"n", {{"deep", 3}}}, {"t", "@hl\nOne\n@hl\nTwo"}};
  const auto render = [&](const std::string& t, const std::string* cand = nullptr) {
    return PromptTemplate::parse(t, "x.yaml:1", {{"yn", {{"3", "three"}}}}, true).render(r, "r:1", cand);
  };
  EXPECT_EQ(render("{q|upper_first|question_mark}"), "Is it on?");
  EXPECT_EQ(render("{p|drop_period} so"), "It rained so");
  EXPECT_EQ(render("{c|lower_first_word}|{i|lower_first_word}"), "my dog barked.|I left.");
  EXPECT_EQ(render("{n.deep} {n.deep|yn}"), "3 three");
  EXPECT_EQ(render("{t|replace:@hl\n=>- }"), "- One\n- Two");
  EXPECT_EQ(render("{{literal}} {p|strip|lower}"), "{literal} it rained.");
  const std::string cand = "Rex";
  EXPECT_EQ(render("{c|fill:My dog}!{candidate}", &cand), "Rex barked.!Rex");
  EXPECT_EQ(error_of([&] { render("{n}"); }), "r:1: field 'n' is an object, expected text");
  EXPECT_EQ(error_of([&] { render("{q|yn}"); }),
            "r:1: field 'q' is 'is it on', which map 'yn' does not list");
  EXPECT_EQ(error_of([] { PromptTemplate::parse("{candidate}", "y.yaml:2"); }),
            "y.yaml:2: template \"{candidate}\": {candidate} is only available in candidate_template");
}

TEST(TruncateOnWord, CutsAtTheLastSpaceWithinTheLimit) {
  EXPECT_EQ(truncate_on_word("short", 10), "short");
  EXPECT_EQ(truncate_on_word("hello big world", 11), "hello big");
  EXPECT_EQ(truncate_on_word("hello big world", 9), "hello big");
  EXPECT_EQ(truncate_on_word("hello big world", 8), "hello");
  EXPECT_EQ(truncate_on_word("abcdefghij", 4), "abcd");                    // one long word: a hard cut
  EXPECT_EQ(truncate_on_word("\xc3\xa9\xc3\xa9\xc3\xa9", 3), "\xc3\xa9");  // never inside a code point
}

TEST(Icl, DemonstrationsShowTheirTargetThenTheQuery) {
  const TaskData data = load_task(load_task_spec("sst2"), kFixtures, 2, 0, 1, 11);
  const std::string p = build_icl_prompt(data.train, data.eval[0], data.spec);
  EXPECT_EQ(p, data.train[0].prompt + data.train[0].candidates[static_cast<size_t>(data.train[0].label)] +
                   "\n\n" + data.train[1].prompt +
                   data.train[1].candidates[static_cast<size_t>(data.train[1].label)] + "\n\n" +
                   data.eval[0].prompt);
  Example q;
  q.prompt = "z It was";
  Example d1;
  d1.prompt = "x It was";
  d1.target = " great";
  Example d2;
  d2.prompt = "y It was";
  d2.target = " terrible";
  EXPECT_EQ(build_icl_prompt({d1, d2}, q, data.spec), "x It was great\n\ny It was terrible\n\nz It was");
  EXPECT_EQ(build_icl_prompt({}, q, data.spec), "z It was");
}

TEST(SpamTask, DrawsBalancedBodyDisjointSplitsFromTheHeldOutEmails) {
  const TaskSpec spec = load_task_spec("spam");
  const TaskData data = load_task(spec, "", 1000, 200, 1200, 3);
  ASSERT_EQ(data.train.size(), 1000u);
  ASSERT_EQ(data.dev.size(), 200u);
  ASSERT_EQ(data.eval.size(), 1200u);

  // An independent look at the held-out set, to check membership and bodies.
  std::map<std::string, std::string> heldout_body;
  for (const Email& e : split_spam_assassin(load_spam_assassin(npm_package_dir(spec.spam_package))).heldout)
    heldout_body[e.key] = e.body;
  ASSERT_EQ(heldout_body.size(), 2400u);

  int spam_label = -1;
  std::vector<std::string> expected_candidates;
  for (size_t i = 0; i < spec.verbalizer.size(); ++i) {
    if (spec.verbalizer[i].first == "spam") spam_label = static_cast<int>(i);
    expected_candidates.push_back(spec.candidate_template.render({}, "", &spec.verbalizer[i].second));
  }
  ASSERT_GE(spam_label, 0);

  const std::string& t = spec.prompt.text();
  ASSERT_EQ(t.rfind("Subject: {subject}\n\n{body}", 0), 0u) << t;
  const std::string cue = t.substr(t.find("{body}") + 6);  // literal text after the body

  std::set<std::string> keys;
  std::map<std::string, int> split_of_body;
  const std::vector<Example>* splits[3] = {&data.train, &data.dev, &data.eval};
  for (int s = 0; s < 3; ++s) {
    int spam = 0;
    for (const Example& e : *splits[s]) {
      EXPECT_TRUE(keys.insert(e.id).second) << e.id << " drawn twice";
      ASSERT_TRUE(heldout_body.count(e.id)) << e.id << " is not a held-out email";
      const bool is_spam = e.id.rfind("spam", 0) == 0;
      EXPECT_EQ(e.label == spam_label, is_spam) << e.id;
      spam += is_spam;
      EXPECT_EQ(e.prompt.rfind("Subject: ", 0), 0u) << e.id;
      EXPECT_EQ(e.candidates, expected_candidates);
      // "Subject: <subject>\n\n<body cut to max_chars><cue>", like the pretraining text.
      const size_t body_at = e.prompt.find("\n\n") + 2;
      ASSERT_GE(e.prompt.size(), body_at + cue.size()) << e.id;
      EXPECT_EQ(e.prompt.substr(e.prompt.size() - cue.size()), cue) << e.id;
      EXPECT_LE(e.prompt.size() - cue.size() - body_at, static_cast<size_t>(spec.max_chars)) << e.id;
      const auto [it, fresh] = split_of_body.emplace(heldout_body[e.id], s);
      EXPECT_EQ(it->second, s) << e.id << " repeats the body of an email in another split";
    }
    const int n = static_cast<int>(splits[s]->size());
    EXPECT_LE(std::abs(2 * spam - n), 1) << "split " << s << " has " << spam << " spam of " << n;
  }
  EXPECT_EQ(keys.size(), 2400u);

  const TaskData again = load_task(spec, "", 1000, 200, 1200, 3);
  EXPECT_EQ(ids(again.train), ids(data.train));
  EXPECT_EQ(ids(again.eval), ids(data.eval));
  const TaskData other_seed = load_task(spec, "", 1000, 200, 1200, 4);
  EXPECT_NE(ids(other_seed.train), ids(data.train));
  EXPECT_EQ(ids(other_seed.eval), ids(data.eval));  // the eval draw does not follow the run seed
}

TEST(SpamTask, MoreThanTheHeldOutSetIsOneLineError) {
  const std::string e = error_of([] { load_task(load_task_spec("spam"), "", 1000, 500, 1000, 1); });
  EXPECT_EQ(e, "task spam: n_train 1000 + n_dev 500 + n_eval 1000 exceeds the 2400 held-out emails");
}

}  // namespace
}  // namespace qzo
