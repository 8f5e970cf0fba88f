// The fine-foods task (Amazon Fine Foods reviews, 5 stars or not) on an invented fixture in the
// export's format, its prompt candidates under experiments/prompts/, and where an empty
// data_dir points: <cache>/data, which launch/setup.sh fills.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "framework/tasks/task.h"
#include "framework/tokenizer/tokenizer.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = std::string(QZO_TEST_DATA) + "/tasks";
const std::string kPromptDir = std::string(QZO_SOURCE_DIR) + "/experiments/prompts/fine-foods";

// Sets an environment variable for one test and restores what was there before, so the
// cache other tests read (npm packages) is untouched afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::vector<std::string> ids(const std::vector<Example>& v) {
  std::vector<std::string> out;
  for (const Example& e : v) out.push_back(e.id);
  return out;
}

std::vector<std::string> prompt_files() {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(kPromptDir))
    if (entry.path().extension() == ".yaml") out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FineFoodsTask, ItWasFramesTheReviewAsTheEmailBodyTheModelKnows) {
  const TaskData data = load_task(load_task_spec(kPromptDir + "/it-was.yaml"), kFixtures, 4, 2, -1, 7);
  ASSERT_EQ(data.eval.size(), 2u);
  const Example& e = data.eval[0];
  EXPECT_EQ(e.prompt,
            "Subject: Product review\n\nRich dark chocolate, not too sweet.\n\nA box lasts me a week.\n\nIt was");
  EXPECT_EQ(e.candidates, (std::vector<std::string>{" great", " not"}));
  EXPECT_EQ(e.label, 0);
  EXPECT_EQ(e.target, " great");
  EXPECT_EQ(e.id, "test-1");
  EXPECT_EQ(data.eval[1].label, 1);  // "other": every rating below 5 stars
}

TEST(FineFoodsTask, LongReviewsAreCutOnAWordBeforeTheCue) {
  const TaskSpec spec = load_task_spec(kPromptDir + "/it-was.yaml");
  const Example e = load_task(spec, kFixtures, 0, 0, -1, 1).eval[1];
  const std::string head = "Subject: Product review\n\n", cue = "\n\nIt was";
  ASSERT_EQ(e.prompt.rfind(head, 0), 0u);
  ASSERT_EQ(e.prompt.substr(e.prompt.size() - cue.size()), cue);
  const std::string review = e.prompt.substr(head.size(), e.prompt.size() - head.size() - cue.size());
  EXPECT_LE(review.size(), static_cast<size_t>(spec.max_chars));
  EXPECT_EQ(review.substr(review.size() - 9), " salt and");  // cut between words
}

TEST(FineFoodsTask, TaskFileDrawsDisjointTrainAndDevFromTrainAndEvalsOnTest) {
  const TaskSpec spec = load_task_spec("fine-foods");
  EXPECT_EQ(spec.train_file, "fine-foods/train.jsonl");
  EXPECT_EQ(spec.validation_file, "fine-foods/test.jsonl");
  const TaskData data = load_task(spec, kFixtures, 4, 2, -1, 3);
  std::vector<std::string> drawn = ids(data.train);
  for (const std::string& id : ids(data.dev)) drawn.push_back(id);
  std::sort(drawn.begin(), drawn.end());
  EXPECT_EQ(drawn, (std::vector<std::string>{"train-1", "train-2", "train-3", "train-4", "train-5", "train-6"}));
  EXPECT_EQ(ids(data.eval), (std::vector<std::string>{"test-1", "test-2"}));
  // Labels follow the verbalizer's order, whatever words the chosen prompt uses.
  ASSERT_EQ(spec.verbalizer.size(), 2u);
  EXPECT_EQ(spec.verbalizer[0].first, "great");
  EXPECT_EQ(spec.verbalizer[1].first, "other");
  EXPECT_EQ(data.eval[0].label, 0);
  EXPECT_EQ(data.eval[1].label, 1);
  EXPECT_NE(data.eval[0].prompt.find("Rich dark chocolate"), std::string::npos);
}

// The candidates are single tokens of the default tokenizer, and the prompt ends where the
// tokenizer would cut anyway: prompt + candidate encodes as the prompt's ids then one more.
TEST(FineFoodsTask, EveryPromptCandidateScoresOneTokenPerWord) {
  const Tokenizer tok = Tokenizer::from_file(std::string(QZO_SOURCE_DIR) + "/models/qzo-tiny/tokenizer.json");
  const std::vector<std::string> files = prompt_files();
  EXPECT_GE(files.size(), 5u);
  for (const std::string& file : files) {
    const TaskSpec spec = load_task_spec(file);
    EXPECT_EQ(spec.name, "fine-foods") << file;
    const TaskData data = load_task(spec, kFixtures, 0, 0, -1, 1);
    for (const Example& e : data.eval) {
      const std::vector<int32_t> prompt = tok.encode(e.prompt, false);
      for (const std::string& c : e.candidates) {
        ASSERT_EQ(tok.encode(c, false).size(), 1u) << file << ": '" << c << "'";
        std::vector<int32_t> joined = prompt;
        joined.push_back(tok.encode(c, false)[0]);
        EXPECT_EQ(tok.encode(e.prompt + c, false), joined) << file << ": '" << c << "'";
      }
    }
  }
}

TEST(FineFoodsTask, EverySpamPromptCandidateIsACompleteTaskFile) {
  for (const auto& entry : fs::directory_iterator(std::string(QZO_SOURCE_DIR) + "/experiments/prompts/spam")) {
    const TaskSpec spec = load_task_spec(entry.path().string());
    EXPECT_EQ(spec.source, TaskSource::spam_assassin) << entry.path();
    EXPECT_EQ(spec.verbalizer.size(), 2u) << entry.path();
  }
}

TEST(TaskDataDir, EmptyMeansTheDataFolderOfTheCache) {
  const ScopedEnv cache("QZO_CACHE", "/somewhere/cache");
  EXPECT_EQ(task_data_dir(""), "/somewhere/cache/data");
  EXPECT_EQ(task_data_dir("/my/data"), "/my/data");
}

TEST(TaskDataDir, EmptyDataDirLoadsTheFilesSetupExportedToTheCache) {
  const TempDir dir("qzo_cache");
  fs::create_directory_symlink(kFixtures, dir.file("data"));
  const ScopedEnv cache("QZO_CACHE", dir.path());
  const TaskSpec spec = load_task_spec("fine-foods");
  const TaskData from_cache = load_task(spec, "", 4, 2, -1, 3);
  const TaskData explicit_dir = load_task(spec, kFixtures, 4, 2, -1, 3);
  EXPECT_EQ(ids(from_cache.train), ids(explicit_dir.train));
  EXPECT_EQ(ids(from_cache.eval), ids(explicit_dir.eval));
}

TEST(TaskDataDir, AFileMissingFromTheCacheSaysToRunSetup) {
  const TempDir dir("qzo_cache");
  const ScopedEnv cache("QZO_CACHE", dir.path());
  const std::string e = error_of([] { load_task(load_task_spec("fine-foods"), "", 1, 0, -1, 1); });
  EXPECT_EQ(e, dir.path() +
                   "/data/fine-foods/train.jsonl: task data file not found (run launch/setup.sh, which exports "
                   "the tasks it can fetch there; for other tasks set task.data_dir)");
}

}  // namespace
}  // namespace qzo
