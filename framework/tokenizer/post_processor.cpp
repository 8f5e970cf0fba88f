// The post-processors qzo supports. Only the single-sequence template matters to qzo (it never
// encodes sentence pairs); ByteLevel's post-processing changes offsets only, never ids.
#include "framework/tokenizer/post_processor.h"

namespace qzo::tok {
namespace {

class SequencePostProcessor : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    for (const auto& step : steps_) step->process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

class OffsetsOnlyPostProcessor : public PostProcessor {
 public:
  void process(std::vector<int32_t>&, bool) const override {}
};

// The ids placed before and after the sequence.
class WrapPostProcessor : public PostProcessor {
 public:
  WrapPostProcessor(std::vector<int32_t> before, std::vector<int32_t> after)
      : before_(std::move(before)), after_(std::move(after)) {}
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }

 private:
  std::vector<int32_t> before_, after_;
};

std::unique_ptr<PostProcessor> make_template(const json& config, const JsonPlace& place) {
  const json& single = required_array(config, "single", place);
  const json& specials = config.contains("special_tokens") ? config["special_tokens"] : json::object();
  std::vector<int32_t> before, after;
  bool seen_sequence = false;
  for (size_t i = 0; i < single.size(); ++i) {
    const JsonPlace item_place = place.at("single").at(i);
    const json& item = single[i];
    if (item.is_object() && item.contains("Sequence")) {
      const std::string id = required_string(item["Sequence"], "id", item_place.at("Sequence"));
      if (id != "A" || seen_sequence) item_place.fail("a single-sequence template holds sequence A once, got " + shown(id));
      seen_sequence = true;
    } else if (item.is_object() && item.contains("SpecialToken")) {
      const std::string name = required_string(item["SpecialToken"], "id", item_place.at("SpecialToken"));
      if (!specials.contains(name)) place.at("special_tokens").fail("no entry for " + shown(name) + " used by the template");
      const JsonPlace special_place = place.at("special_tokens").at(name);
      for (const json& id : required_array(specials[name], "ids", special_place)) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0) special_place.at("ids").fail("expected non-negative integer ids");
        (seen_sequence ? after : before).push_back(id.get<int32_t>());
      }
    } else {
      item_place.fail("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  if (!seen_sequence) place.at("single").fail("the template never places sequence A");
  return std::make_unique<WrapPostProcessor>(std::move(before), std::move(after));
}

// BertProcessing / RobertaProcessing: "cls": [token, id], "sep": [token, id].
std::unique_ptr<PostProcessor> make_cls_sep(const json& config, const JsonPlace& place) {
  const auto id_of = [&](const char* field) {
    const json& pair = required_array(config, field, place);
    if (pair.size() != 2 || !pair[1].is_number_integer()) place.at(field).fail("expected [token, id]");
    return pair[1].get<int32_t>();
  };
  return std::make_unique<WrapPostProcessor>(std::vector<int32_t>{id_of("cls")}, std::vector<int32_t>{id_of("sep")});
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& config, const JsonPlace& place) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, place);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> steps;
    const json& list = required_array(config, "processors", place);
    for (size_t i = 0; i < list.size(); ++i) {
      auto step = make_post_processor(list[i], place.at("processors").at(i));
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePostProcessor>(std::move(steps));
  }
  if (type == "TemplateProcessing") return make_template(config, place);
  if (type == "ByteLevel") return std::make_unique<OffsetsOnlyPostProcessor>();
  if (type == "BertProcessing" || type == "RobertaProcessing") return make_cls_sep(config, place);
  unsupported_type(place, type, "Sequence, TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing");
}

}  // namespace qzo::tok
