// Specification of the config layer: schema-checked YAML with located errors, --set
// overrides, base inheritance, and a YAML dump that reloads to the same config.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "framework/config/load.h"
#include "framework/config/suggest.h"
#include "framework/core/error.h"
#include "tests/support/error_of.h"

namespace qzo {
namespace {

// A schema shaped like a training run's; the real ones are declared by the commands.
Schema example_schema() {
  Schema s;
  s.key<int>("seed", 0, "run seed").min(0);
  Section model = s.section("model");
  model.key<std::string>("path", required_key, "Hugging Face model folder");
  model.choice("dtype", {"bf16", "fp16", "fp32"}, "bf16", "compute dtype");
  Section quant = s.section("quant");
  quant.choice("method", {"rtn", "gptq", "nf4", "codebook"}, "rtn", "quantizer");
  quant.key<int>("bits", 4, "bits per code").min(2).max(8);
  quant.key<int>("group_size", 128, "weights per scale").min(1);
  Section method = s.section("method");
  method.choice("name", {"qzo", "mezo", "qlora", "ft"}, "qzo", "training method");
  method.key<double>("eps", 1e-3, "perturbation scale").positive();
  method.key<std::optional<double>>("clip_threshold", std::nullopt, "DDC bound; none disables")
      .positive();
  Section optim = s.section("optim");
  optim.key<double>("lr", 1e-5, "learning rate").min(0);
  optim.key<int>("steps", 1000, "optimizer steps").min(1);
  optim.key<std::vector<double>>("betas", {0.9, 0.999}, "AdamW betas").min(0).max(1);
  optim.key<bool>("shuffle", true, "shuffle each epoch");
  Section data = s.section("data");
  data.key<std::vector<std::string>>("tasks", {"sst2"}, "tasks to train on");
  data.key<std::vector<int>>("eval_steps", {}, "steps to evaluate at").min(0);
  data.section("template").key<std::string>("prompt", "{text}", "prompt template");
  s.section("log").key<int64_t>("max_bytes", int64_t{1} << 40, "log size cap").min(0);
  return s;
}

std::string fixture(const std::string& name) {
  return std::string(QZO_TEST_DATA) + "/config/" + name;
}

// Line (1-based) of the first line of `file` containing `needle`: the expected location of
// an error, read from the fixture rather than restated here.
int line_of(const std::string& file, const std::string& needle) {
  std::ifstream in(file);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find(needle) != std::string::npos) return n;
  ADD_FAILURE() << needle << " not in " << file;
  return -1;
}

std::string load_error(const std::string& name, const std::vector<std::string>& overrides = {}) {
  return error_of([&] { load_config(fixture(name), example_schema(), overrides); });
}

// A scratch file removed when the test ends.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) {
    static int counter = 0;
    path = ::testing::TempDir() + "qzo_config_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter++) + ".yaml";
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

// ---- valid files

TEST(Config, ValidFileLoadsAndFillsDefaults) {
  const Config c = load_config(fixture("valid.yaml"), example_schema(), {});
  EXPECT_EQ(c.get<int>("seed"), 7);
  EXPECT_EQ(c.get<std::string>("model.path"), "models/tiny-llama");
  EXPECT_EQ(c.get<std::string>("method.name"), "mezo");
  EXPECT_DOUBLE_EQ(c.get<double>("method.eps"), 1e-3);
  EXPECT_EQ(c.get_optional_double("method.clip_threshold"), std::optional<double>(100.0));
  EXPECT_DOUBLE_EQ(c.get<double>("optim.lr"), 1e-5);
  EXPECT_EQ(c.get<int>("optim.steps"), 20);
  EXPECT_EQ(c.get_list<double>("optim.betas"), (std::vector<double>{0.8, 1.0}));
  EXPECT_EQ(c.get_list<std::string>("data.tasks"), (std::vector<std::string>{"sst2", "rte"}));
  EXPECT_EQ(c.get_list<int>("data.eval_steps"), (std::vector<int>{10, 20}));
  EXPECT_EQ(c.get<std::string>("data.template.prompt"), "Review: {text}\nSentiment:");
  // Not in the file: defaults.
  EXPECT_EQ(c.get<std::string>("model.dtype"), "bf16");
  EXPECT_EQ(c.get<int>("quant.bits"), 4);
  EXPECT_TRUE(c.get<bool>("optim.shuffle"));
  EXPECT_EQ(c.get<int64_t>("log.max_bytes"), int64_t{1} << 40);
  EXPECT_EQ(c.where("optim.lr"),
            fixture("valid.yaml") + ":" + std::to_string(line_of(fixture("valid.yaml"), "lr:")));
  EXPECT_EQ(c.where("quant.bits"), "default");
}

TEST(Config, DoubleKeysAcceptEveryNumberSpelling) {
  for (const std::string text : {"1e-5", "1.0e-5", "0.00001", "+1e-5", "1E-5"}) {
    const TempFile f("model: {path: m}\noptim: {lr: " + text + "}\n");
    EXPECT_DOUBLE_EQ(load_config(f.path, example_schema()).get<double>("optim.lr"), 1e-5) << text;
  }
  const TempFile integer("model: {path: m}\noptim: {lr: 2}\n");
  EXPECT_EQ(load_config(integer.path, example_schema()).get<double>("optim.lr"), 2.0);
}

TEST(Config, EmptyFileMeansDefaultsButRequiredKeysStillMissing) {
  const TempFile empty("# nothing yet\n");
  const std::string e = error_of([&] { load_config(empty.path, example_schema()); });
  EXPECT_EQ(e, empty.path + ": missing required key 'model.path'");
  const Config c = load_config(empty.path, example_schema(), {"model.path=m"});
  EXPECT_EQ(c.get<int>("optim.steps"), 1000);
}

// ---- errors in files: file name and line

TEST(Config, UnknownKeyNamesFileLineAndSuggestion) {
  const std::string f = fixture("unknown_key.yaml");
  EXPECT_EQ(load_error("unknown_key.yaml"),
            f + ":" + std::to_string(line_of(f, "lrr")) +
                ": unknown key 'optim.lrr' (did you mean 'optim.lr'?)");
}

TEST(Config, MistypedIntegerNamesFileLineAndValue) {
  const std::string f = fixture("bad_int.yaml");
  EXPECT_EQ(load_error("bad_int.yaml"),
            f + ":" + std::to_string(line_of(f, "steps:")) +
                ": key 'optim.steps' expects an integer, got 'abc'");
}

TEST(Config, EnumValueOutsideChoicesListsThem) {
  const std::string f = fixture("bad_enum.yaml");
  EXPECT_EQ(load_error("bad_enum.yaml"),
            f + ":" + std::to_string(line_of(f, "name:")) +
                ": key 'method.name' must be one of qzo, mezo, qlora, ft, got 'qz'"
                " (did you mean 'qzo'?)");
}

TEST(Config, MissingRequiredKeyNamesFile) {
  EXPECT_EQ(load_error("missing_required.yaml"),
            fixture("missing_required.yaml") + ": missing required key 'model.path'");
}

TEST(Config, YamlSyntaxErrorNamesFileAndLine) {
  const std::string e = load_error("syntax_error.yaml");
  EXPECT_EQ(e.rfind(fixture("syntax_error.yaml") + ":", 0), 0u) << e;
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
  // yaml-cpp notices the unclosed list where the next key starts.
  const int open = line_of(fixture("syntax_error.yaml"), "[1e-6");
  const int line = std::stoi(e.substr(fixture("syntax_error.yaml").size() + 1));
  EXPECT_GE(line, open);
  EXPECT_LE(line, open + 1);
}

TEST(Config, TopLevelMustBeAMapping) {
  EXPECT_EQ(load_error("not_mapping.yaml"),
            fixture("not_mapping.yaml") + ":1: expected a mapping of keys at the top level, got a list");
}

TEST(Config, ValueOutOfRangeNamesBound) {
  const std::string f = fixture("out_of_range.yaml");
  EXPECT_EQ(load_error("out_of_range.yaml"),
            f + ":" + std::to_string(line_of(f, "group_size")) +
                ": key 'quant.group_size' must be >= 1, got '0'");
}

TEST(Config, DuplicateKeyIsRejected) {
  const std::string f = fixture("duplicate.yaml");
  EXPECT_EQ(load_error("duplicate.yaml"),
            f + ":" + std::to_string(line_of(f, "lr: 1e-7")) +
                ": duplicate key 'optim.lr' (first set at line " +
                std::to_string(line_of(f, "lr: 1e-6")) + ")");
}

TEST(Config, BadListItemNamesItsOwnLine) {
  const std::string f = fixture("bad_list_item.yaml");
  EXPECT_EQ(load_error("bad_list_item.yaml"),
            f + ":" + std::to_string(line_of(f, "high")) +
                ": key 'optim.betas' item 2 expects a number, got 'high'");
}

TEST(Config, ScalarWhereSectionExpectedIsRejected) {
  const std::string f = fixture("section_scalar.yaml");
  EXPECT_EQ(load_error("section_scalar.yaml"),
            f + ":" + std::to_string(line_of(f, "optim")) +
                ": 'optim' is a section and expects a mapping of keys, got '5'");
}

TEST(Config, ScalarForListKeyIsRejectedWithHint) {
  const TempFile f("model: {path: m}\ndata:\n  tasks: sst2\n");
  EXPECT_EQ(error_of([&] { load_config(f.path, example_schema()); }),
            f.path + ":3: key 'data.tasks' expects a list of strings, got 'sst2' (write [sst2])");
}

TEST(Config, EmptyValueForStringKeyIsRejected) {
  const TempFile f("model:\n  path:\n");
  EXPECT_EQ(error_of([&] { load_config(f.path, example_schema()); }),
            f.path + ":2: key 'model.path' expects a string, got nothing");
}

TEST(Config, SecondYamlDocumentIsRejected) {
  EXPECT_EQ(load_error("two_documents.yaml"),
            fixture("two_documents.yaml") + ": expected one YAML document, found 2");
}

TEST(Config, UnreadableFileIsNamed) {
  const std::string e = error_of([] { load_config("/nonexistent/run.yaml", example_schema()); });
  EXPECT_EQ(e.rfind("/nonexistent/run.yaml:", 0), 0u) << e;
}

TEST(Config, KeyInWrongSectionSuggestsWhereItBelongs) {
  const TempFile f("model: {path: m}\nlr: 1e-4\n");
  EXPECT_EQ(error_of([&] { load_config(f.path, example_schema()); }),
            f.path + ":2: unknown key 'lr' (did you mean 'optim.lr'?)");
}

// ---- optional doubles (clip_threshold)

TEST(Config, OptionalDoubleAcceptsNoneOrANumber) {
  EXPECT_EQ(load_config(fixture("clip_none.yaml"), example_schema())
                .get_optional_double("method.clip_threshold"),
            std::nullopt);
  for (const std::string text : {"~", "null", ""}) {
    const TempFile f("model: {path: m}\nmethod:\n  clip_threshold: " + text + "\n");
    EXPECT_EQ(load_config(f.path, example_schema()).get_optional_double("method.clip_threshold"),
              std::nullopt)
        << text;
  }
  const Config c = load_config(fixture("minimal.yaml"), example_schema(),
                               {"method.clip_threshold=2.5"});
  EXPECT_EQ(c.get_optional_double("method.clip_threshold"), std::optional<double>(2.5));
}

TEST(Config, OptionalDoubleStillChecksItsRange) {
  const std::string f = fixture("clip_negative.yaml");
  EXPECT_EQ(load_error("clip_negative.yaml"),
            f + ":" + std::to_string(line_of(f, "clip_threshold")) +
                ": key 'method.clip_threshold' must be > 0.0, got '-1'");
  EXPECT_EQ(load_error("minimal.yaml", {"method.clip_threshold=abc"}),
            "--set method.clip_threshold=abc: key 'method.clip_threshold' expects a number or "
            "none, got 'abc'");
}

TEST(Config, OptionalDoubleCannotBeReadAsPlainDouble) {
  const Config c = load_config(fixture("valid.yaml"), example_schema());
  const std::string e = error_of([&] { c.get<double>("method.clip_threshold"); });
  EXPECT_NE(e.find("get_optional_double"), std::string::npos) << e;
}

// ---- typed access

TEST(Config, GetterRejectsWrongTypeAndUnknownKey) {
  const Config c = load_config(fixture("minimal.yaml"), example_schema());
  EXPECT_EQ(error_of([&] { c.get<int>("optim.lr"); }),
            "config: key 'optim.lr' is double, read as int");
  EXPECT_EQ(error_of([&] { c.get<double>("optim.lrr"); }),
            "config: no key 'optim.lrr' (did you mean 'optim.lr'?)");
  EXPECT_TRUE(c.has("optim.lr"));
  EXPECT_FALSE(c.has("optim.lrr"));
  EXPECT_FALSE(c.has("optim"));  // a section, not a key
}

// ---- overrides

TEST(ConfigOverride, SetsEveryType) {
  const Config c = load_config(
      fixture("valid.yaml"), example_schema(),
      {"optim.lr=1e-6", "optim.steps=+42", "optim.shuffle=false", "method.name=qlora",
       "method.clip_threshold=none", "data.tasks=[boolq, copa]", "data.eval_steps=5,6,7",
       "optim.betas=[]", "model.path=other=path"});
  EXPECT_DOUBLE_EQ(c.get<double>("optim.lr"), 1e-6);
  EXPECT_EQ(c.get<int>("optim.steps"), 42);
  EXPECT_FALSE(c.get<bool>("optim.shuffle"));
  EXPECT_EQ(c.get<std::string>("method.name"), "qlora");
  EXPECT_EQ(c.get_optional_double("method.clip_threshold"), std::nullopt);
  EXPECT_EQ(c.get_list<std::string>("data.tasks"), (std::vector<std::string>{"boolq", "copa"}));
  EXPECT_EQ(c.get_list<int>("data.eval_steps"), (std::vector<int>{5, 6, 7}));
  EXPECT_TRUE(c.get_list<double>("optim.betas").empty());
  EXPECT_EQ(c.get<std::string>("model.path"), "other=path");
  EXPECT_EQ(c.where("optim.lr"), "--set optim.lr=1e-6");
}

TEST(ConfigOverride, LaterOverrideWins) {
  const Config c =
      load_config(fixture("minimal.yaml"), example_schema(), {"seed=1", "seed=2"});
  EXPECT_EQ(c.get<int>("seed"), 2);
}

TEST(ConfigOverride, SuppliesARequiredKey) {
  const Config c = load_config(fixture("missing_required.yaml"), example_schema(),
                               {"model.path=models/x"});
  EXPECT_EQ(c.get<std::string>("model.path"), "models/x");
}

TEST(ConfigOverride, BadValuesAreReportedWithTheOverride) {
  EXPECT_EQ(load_error("minimal.yaml", {"optim.lr=abc"}),
            "--set optim.lr=abc: key 'optim.lr' expects a number, got 'abc'");
  EXPECT_EQ(load_error("minimal.yaml", {"optim.steps=1.5"}),
            "--set optim.steps=1.5: key 'optim.steps' expects an integer, got '1.5'");
  EXPECT_EQ(load_error("minimal.yaml", {"optim.shuffle=yes"}),
            "--set optim.shuffle=yes: key 'optim.shuffle' expects true or false, got 'yes'");
  EXPECT_EQ(load_error("minimal.yaml", {"quant.bits=9"}),
            "--set quant.bits=9: key 'quant.bits' must be <= 8, got '9'");
  EXPECT_EQ(load_error("minimal.yaml", {"optim.betas=0.9,x"}),
            "--set optim.betas=0.9,x: key 'optim.betas' item 2 expects a number, got 'x'");
  EXPECT_EQ(load_error("minimal.yaml", {"optim.lr=nan"}),
            "--set optim.lr=nan: key 'optim.lr' expects a number, got 'nan'");
  EXPECT_EQ(load_error("minimal.yaml", {"seed=99999999999"}),
            "--set seed=99999999999: key 'seed' must be <= 2147483647, got '99999999999'");
}

TEST(ConfigOverride, UnknownKeysAndMalformedOverridesAreRejected) {
  EXPECT_EQ(load_error("minimal.yaml", {"optim.lrr=1"}),
            "--set optim.lrr=1: unknown key 'optim.lrr' (did you mean 'optim.lr'?)");
  EXPECT_EQ(load_error("minimal.yaml", {"optim.stesp=1"}),
            "--set optim.stesp=1: unknown key 'optim.stesp' (did you mean 'optim.steps'?)");
  EXPECT_EQ(load_error("minimal.yaml", {"zzzzzz=1"}), "--set zzzzzz=1: unknown key 'zzzzzz'");
  EXPECT_EQ(load_error("minimal.yaml", {"optim.lr"}), "--set optim.lr: expected key=value");
  EXPECT_EQ(load_error("minimal.yaml", {"optim=1"}),
            "--set optim=1: 'optim' is a section; set one of its keys such as 'optim.lr'");
}

TEST(ConfigOverride, ProgrammaticSetParsesPerSchema) {
  Config c = load_config(fixture("minimal.yaml"), example_schema());
  c.set("seed", "3");
  c.set("optim.lr", "2e-6");
  EXPECT_EQ(c.get<int>("seed"), 3);
  EXPECT_DOUBLE_EQ(c.get<double>("optim.lr"), 2e-6);
  EXPECT_EQ(c.where("seed"), "set seed=3");
  EXPECT_EQ(error_of([&] { c.set("seed", "three"); }),
            "set seed=three: key 'seed' expects an integer, got 'three'");
  EXPECT_EQ(error_of([&] { c.set("sed", "3"); }),
            "set sed=3: unknown key 'sed' (did you mean 'seed'?)");
  EXPECT_EQ(c.get<int>("seed"), 3);  // a failed set leaves the value alone
}

// ---- YAML dump and hash

TEST(ConfigDump, ToYamlReloadsToAnIdenticalConfig) {
  const Config c = load_config(fixture("valid.yaml"), example_schema(),
                               {"optim.lr=0.1", "method.eps=1e-300", "optim.betas=[0.3, 0.7]"});
  const std::string yaml = c.to_yaml();
  const TempFile f(yaml);
  const Config back = load_config(f.path, example_schema());
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.to_yaml(), yaml);
  EXPECT_EQ(back.hash(), c.hash());
}

TEST(ConfigDump, StringsThatLookLikeOtherTypesSurviveTheRoundTrip) {
  Config c = load_config(fixture("minimal.yaml"), example_schema());
  for (const std::string s :
       {"123", "true", "none", "~", "", " padded ", "a: b", "# not a comment", "1e-5", "[x]",
        "yes", "- item", "quote\"d", "line\nbreak"}) {
    c.assign("model.path", s, "test");
    c.assign("data.tasks", std::vector<std::string>{s, "x"}, "test");
    const Config back = load_config_text(c.to_yaml(), "dump.yaml", example_schema());
    EXPECT_EQ(back.get<std::string>("model.path"), s) << c.to_yaml();
    EXPECT_EQ(back.get_list<std::string>("data.tasks"), (std::vector<std::string>{s, "x"}));
  }
}

TEST(ConfigDump, KeysFollowSchemaOrderAndDefaultsAreWritten) {
  const Config c = load_config(fixture("minimal.yaml"), example_schema());
  const std::string yaml = c.to_yaml();
  size_t last = 0;
  const Schema schema = example_schema();
  for (const KeySpec& k : schema.keys()) {
    const std::string leaf = k.path.substr(k.path.rfind('.') + 1) + ":";
    const size_t at = yaml.find(leaf, last);
    ASSERT_NE(at, std::string::npos) << k.path << " missing or out of order in\n" << yaml;
    last = at;
  }
  EXPECT_NE(yaml.find("clip_threshold: none"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("lr: 1.0e-05"), std::string::npos) << yaml;
}

TEST(ConfigDump, HashDependsOnValuesOnly) {
  const TempFile a("model: {path: m}\nseed: 5\noptim: {lr: 1e-4, steps: 3}\n");
  const TempFile b("optim:\n  steps: 3\n  lr: 0.0001\nseed: 5\nmodel:\n  path: m\n");
  const Config ca = load_config(a.path, example_schema());
  const Config cb = load_config(b.path, example_schema());
  const Config cc = load_config(fixture("minimal.yaml"), example_schema(),
                                {"seed=5", "optim.lr=1e-4", "optim.steps=3", "model.path=m"});
  EXPECT_EQ(ca.hash(), cb.hash());
  EXPECT_EQ(ca.hash(), cc.hash());
  Config changed = ca;
  changed.set("optim.steps", "4");
  EXPECT_NE(changed.hash(), ca.hash());
}

// ---- base inheritance

TEST(ConfigBase, ChildOverridesBaseRelativeToItsOwnFolder) {
  const Config c = load_config(fixture("sweep/lr_high.yaml"), example_schema());
  EXPECT_DOUBLE_EQ(c.get<double>("optim.lr"), 1e-4);                  // the child's
  EXPECT_EQ(c.get<int>("optim.steps"), 100);                          // the base's
  EXPECT_EQ(c.get<std::string>("model.path"), "models/tiny-llama");  // the base's
  EXPECT_EQ(c.where("optim.steps"),
            fixture("base.yaml") + ":" + std::to_string(line_of(fixture("base.yaml"), "steps")));
}

TEST(ConfigBase, ChainsOfBasesApplyInOrder) {
  const Config c = load_config(fixture("sweep/grandchild.yaml"), example_schema(),
                               {"optim.steps=7"});
  EXPECT_EQ(c.get_optional_double("method.clip_threshold"), std::nullopt);  // grandchild
  EXPECT_DOUBLE_EQ(c.get<double>("optim.lr"), 1e-4);                        // child
  EXPECT_EQ(c.get<std::string>("method.name"), "qzo");                      // base
  EXPECT_EQ(c.get<int>("optim.steps"), 7);                                  // --set
}

TEST(ConfigBase, CycleIsDetected) {
  const std::string b = fixture("cycle_b.yaml");
  const std::string e = load_error("cycle_a.yaml");
  EXPECT_EQ(e.rfind(b + ":" + std::to_string(line_of(b, "base:")) + ": base 'cycle_a.yaml' forms a cycle", 0),
            0u)
      << e;
}

TEST(ConfigBase, MissingBaseIsNamed) {
  const std::string f = fixture("base_missing.yaml");
  EXPECT_EQ(load_error("base_missing.yaml"),
            f + ":1: base 'no_such_file.yaml' not found (looked for " +
                fixture("no_such_file.yaml") + ")");
}

TEST(ConfigBase, ErrorInBaseNamesTheBaseFile) {
  const std::string base = fixture("bad_base.yaml");
  EXPECT_EQ(load_error("child_of_bad_base.yaml"),
            base + ":" + std::to_string(line_of(base, "steps")) +
                ": key 'optim.steps' expects an integer, got 'many'");
}

// ---- schema declaration

TEST(ConfigSchema, DeclarationMistakesAreCaught) {
  Schema s;
  s.section("optim").key<double>("lr", 1e-5, "learning rate");
  EXPECT_EQ(error_of([&] { s.section("optim").key<double>("lr", 1.0, "again"); }),
            "schema: key 'optim.lr' declared twice");
  EXPECT_EQ(error_of([&] { s.key<int>("optim", 1, "clash"); }),
            "schema: 'optim' is already a section");
  EXPECT_EQ(error_of([&] { s.section("optim").key<int>("steps", 0, "steps").min(1); }),
            "schema: default of 'optim.steps' must be >= 1");
  EXPECT_EQ(error_of([&] { s.choice("kind", {"a", "b"}, "c", "kind"); }),
            "schema: default of 'kind' must be one of a, b, got 'c'");
  EXPECT_EQ(error_of([&] { s.key<std::string>("base", "x", "reserved"); }),
            "schema: 'base' is reserved for config inheritance");
  EXPECT_EQ(error_of([&] { s.key<std::string>("name", "x", "n").min(0); }),
            "schema: min() on non-numeric key 'name'");
}

TEST(ConfigSchema, DescribeListsEveryKey) {
  const Schema schema = example_schema();
  const std::string help = schema.describe();
  for (const KeySpec& k : schema.keys())
    EXPECT_NE(help.find(k.path + "  "), std::string::npos) << k.path;
  EXPECT_NE(help.find("model.path  string  (required)"), std::string::npos) << help;
  EXPECT_NE(help.find("quant.bits  int  = 4  >= 2  <= 8  bits per code"), std::string::npos)
      << help;
}

TEST(ConfigSuggest, EditDistanceCountsASwapAsOneEdit) {
  EXPECT_EQ(edit_distance("steps", "stesp"), 1u);
  EXPECT_EQ(edit_distance("lr", "lrr"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(closest_match("qz", {"qzo", "mezo"}), "qzo");
  EXPECT_EQ(closest_match("adam", {"qzo", "mezo"}), "");
}

}  // namespace
}  // namespace qzo
