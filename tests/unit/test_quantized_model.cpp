// A whole decoder with quantized linear layers: quantization per layer, the dequantizing
// weight source (with and without ±εz), the quantized checkpoint, memory and perplexity.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/io/safetensors.h"
#include "framework/quant/perplexity.h"
#include "framework/quant/quantized_checkpoint.h"
#include "framework/quant/quantized_model.h"
#include "tests/support/error_of.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = (fs::temp_directory_path() /
             ("qzo-qmodel-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sizes divisible by 64 so that every group size below applies; matrices dominate the
// parameter count, as in real models.
ModelConfig small_config(bool bias = true, bool tied = false) {
  ModelConfig c;
  c.vocab_size = 64;
  c.hidden_size = 128;
  c.intermediate_size = 256;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 32;
  c.max_position_embeddings = 64;
  c.attention_bias = bias;
  c.tie_word_embeddings = tied;
  return c;
}

Model small_model(bool bias = true, bool tied = false) { return Model::init(small_config(bias, tied), 7, 0.05f); }

std::vector<int32_t> some_tokens(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> t(n);
  for (int32_t& x : t) x = static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab));
  return t;
}

Batch some_batch() {
  Batch b;
  b.B = 2;
  b.T = 24;
  b.tokens = some_tokens(b.B * b.T, 64, 3);
  b.targets = some_tokens(b.B * b.T, 64, 4);
  return b;
}

std::vector<float> dequantized(const QuantizedLinear& L) {
  std::vector<float> W(static_cast<size_t>(L.out_features()) * L.in_features());
  L.dequantize(W.data());
  return W;
}

std::vector<std::vector<float>> all_scales(const QuantizedModel& qm) {
  std::vector<std::vector<float>> s;
  for (const QuantizedLinear& L : qm.layers()) s.push_back(L.scales());
  return s;
}

bool bit_identical(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(float)) != 0)
      return false;
  return true;
}

TEST(QuantizedModel, EachLayerIsTheQuantizedLinearOfItsWeightInParameterOrder) {
  Model model = small_model();
  std::vector<std::vector<float>> original;
  for (const Parameter& p : model.parameters()) original.emplace_back(p.f32(), p.f32() + p.numel());
  const QuantSpec spec = QuantSpec::parse("rtn:bits=4,group_size=32");
  const QuantizedModel qm = QuantizedModel::quantize(std::move(model), spec);
  const std::vector<Parameter>& params = qm.model().parameters();

  int expected_layers = 0, last_id = -1;
  for (const Parameter& p : params) expected_layers += p.is_matrix_weight;
  ASSERT_EQ(static_cast<int>(qm.layers().size()), expected_layers);
  ASSERT_EQ(expected_layers, 14);
  const QuantizedWeights source(qm);
  for (int l = 0; l < expected_layers; ++l) {
    const int id = qm.param_of(l);
    EXPECT_GT(id, last_id) << "layers follow parameter order";
    last_id = id;
    EXPECT_EQ(qm.layer_of(id), l);
    const Parameter& p = params[id];
    ASSERT_TRUE(p.is_matrix_weight);
    EXPECT_TRUE(p.values.empty()) << p.name << " keeps its fp32 storage";
    const QuantizedLinear ref = QuantizedLinear::quantize(original[id].data(), static_cast<int>(p.shape[0]),
                                                          static_cast<int>(p.shape[1]), spec, p.name);
    const QuantizedLinear& L = qm.layers()[l];
    EXPECT_EQ(L.packed_codes(), ref.packed_codes()) << p.name;
    EXPECT_EQ(L.zero_points(), ref.zero_points()) << p.name;
    EXPECT_EQ(L.scales(), ref.scales()) << p.name;
    const std::vector<float> read = read_weights_f32(qm.model(), source, id);
    const std::vector<float> W = dequantized(ref);
    EXPECT_EQ(std::memcmp(read.data(), W.data(), W.size() * sizeof(float)), 0) << p.name;
  }
  for (size_t id = 0; id < params.size(); ++id) {
    if (params[id].is_matrix_weight) continue;
    EXPECT_EQ(qm.layer_of(static_cast<int>(id)), -1) << params[id].name;
    EXPECT_EQ(read_weights_f32(qm.model(), source, static_cast<int>(id)), original[id]) << params[id].name;
  }
  EXPECT_THROW(qm.param_of(expected_layers), Error);
}

TEST(QuantizedModel, Bf16StorageIsQuantizedFromItsStoredValues) {
  TempDir dir;
  small_model().save(dir.path());
  const Model fp32 = Model::load(dir.path(), DType::F32);
  const QuantSpec spec = QuantSpec::parse("nf4");
  const QuantizedModel qm = QuantizedModel::quantize(Model::load(dir.path(), DType::BF16), spec);
  for (size_t l = 0; l < qm.layers().size(); ++l) {
    const Parameter& p = fp32.parameters()[qm.param_of(static_cast<int>(l))];
    std::vector<float> rounded(p.f32(), p.f32() + p.numel());
    for (float& x : rounded) x = bf16_to_f32(f32_to_bf16(x));
    const QuantizedLinear ref = QuantizedLinear::quantize(rounded.data(), static_cast<int>(p.shape[0]),
                                                          static_cast<int>(p.shape[1]), spec, p.name);
    EXPECT_EQ(qm.layers()[l].packed_codes(), ref.packed_codes()) << p.name;
    EXPECT_EQ(qm.layers()[l].scales(), ref.scales()) << p.name;
  }
}

TEST(QuantizedModel, GroupSizeNotDividingALayerNamesTheTensor) {
  const std::string msg =
      error_of([] { QuantizedModel::quantize(small_model(), QuantSpec::parse("rtn:group_size=96")); });
  EXPECT_NE(msg.find("model.layers.0.self_attn.q_proj.weight"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(QuantizedWeights, EightBitLossIsCloseToTheFp32Model) {
  const Batch batch = some_batch();
  const double fp32 = small_model().forward_loss(batch).mean();
  auto loss_at = [&](const std::string& spec) {
    return QuantizedModel::quantize(small_model(), QuantSpec::parse(spec)).forward_loss(batch).mean();
  };
  const double eight = loss_at("rtn:bits=8,group_size=32"), two = loss_at("rtn:bits=2,group_size=32");
  EXPECT_NEAR(eight, fp32, 1e-3 * fp32);
  EXPECT_LT(std::abs(eight - fp32), std::abs(two - fp32)) << "fewer bits, larger error";
}

TEST(QuantizedWeights, LogitsEqualAModelHoldingTheDequantizedWeights) {
  for (const char* spec : {"rtn:bits=4,group_size=32", "rtn:bits=3,group_size=channel,symmetric=true", "nf4"}) {
    SCOPED_TRACE(spec);
    const QuantizedModel qm = QuantizedModel::quantize(small_model(), QuantSpec::parse(spec));
    Model plain = small_model();
    for (size_t l = 0; l < qm.layers().size(); ++l) {
      const std::vector<float> W = dequantized(qm.layers()[l]);
      std::memcpy(plain.parameters()[qm.param_of(static_cast<int>(l))].f32(), W.data(), W.size() * sizeof(float));
    }
    const std::vector<int32_t> tokens = some_tokens(2 * 20, 64, 11);
    EXPECT_EQ(qm.forward_logits(tokens, 2, 20), plain.forward_logits(tokens, 2, 20));
  }
}

TEST(QuantizedWeights, ZeroEpsPerturbationIsBitIdenticalToUnperturbed) {
  const QuantizedModel qm = QuantizedModel::quantize(small_model(), QuantSpec::parse("rtn:bits=4,group_size=32"));
  const std::vector<int32_t> tokens = some_tokens(2 * 20, 64, 12);
  const std::vector<float> plain = qm.forward_logits(tokens, 2, 20);
  const std::vector<float> zero = qm.forward_logits(tokens, 2, 20, Perturbation{1234, 0.0f});
  ASSERT_EQ(plain.size(), zero.size());
  EXPECT_EQ(std::memcmp(plain.data(), zero.data(), plain.size() * sizeof(float)), 0);
}

TEST(QuantizedWeights, PlusAndMinusEpsDifferAndLeaveScalesBitIdentical) {
  const QuantizedModel qm = QuantizedModel::quantize(small_model(), QuantSpec::parse("rtn:bits=4,group_size=32"));
  const auto before = all_scales(qm);
  const Batch batch = some_batch();
  const uint64_t seed = 99;
  const float eps = 1e-3f;
  const double base = qm.forward_loss(batch).total_loss;
  const double plus = qm.forward_loss(batch, Perturbation{seed, eps}).total_loss;
  const double minus = qm.forward_loss(batch, Perturbation{seed, -eps}).total_loss;
  EXPECT_NE(plus, minus);
  EXPECT_NE(plus, base);
  EXPECT_EQ(qm.forward_loss(batch, Perturbation{seed, eps}).total_loss, plus) << "the perturbation is a function of the seed";
  EXPECT_NE(qm.forward_loss(batch, Perturbation{seed + 1, eps}).total_loss, plus);
  EXPECT_TRUE(bit_identical(all_scales(qm), before));

  // Layer l draws z from stream l, whatever its parameter id.
  const QuantizedWeights source(qm, Perturbation{seed, eps});
  for (size_t l = 0; l < qm.layers().size(); ++l) {
    const QuantizedLinear& L = qm.layers()[l];
    std::vector<float> want(static_cast<size_t>(L.out_features()) * L.in_features());
    const std::vector<float> read = read_weights_f32(qm.model(), source, qm.param_of(static_cast<int>(l)));
    L.dequantize_perturbed(want.data(), seed, static_cast<uint32_t>(l), eps);
    EXPECT_EQ(std::memcmp(read.data(), want.data(), want.size() * sizeof(float)), 0) << "layer " << l;
  }
}

TEST(QuantizedModel, FourBitG32WeighsWellBelowFp32) {
  Model model = small_model();
  size_t fp32_bytes = 0, other_bytes = 0, matrix_numel = 0;
  for (const Parameter& p : model.parameters()) {
    fp32_bytes += p.nbytes();
    if (p.is_matrix_weight) matrix_numel += static_cast<size_t>(p.numel());
    else other_bytes += p.nbytes();
  }
  const QuantizedModel qm = QuantizedModel::quantize(std::move(model), QuantSpec::parse("rtn:bits=4,group_size=32"));
  size_t layer_bytes = 0;
  for (const QuantizedLinear& L : qm.layers()) layer_bytes += L.storage_bytes();
  EXPECT_EQ(qm.weight_bytes(), layer_bytes + other_bytes);
  // 4-bit codes + uint8 zero point and fp32 scale per 32 weights: 0.66 of 4 bytes per weight.
  EXPECT_EQ(layer_bytes, matrix_numel / 2 + matrix_numel / 32 * 5);
  EXPECT_EQ(qm.num_scales(), matrix_numel / 32);
  EXPECT_EQ(qm.trainable_bytes(), matrix_numel / 32 * sizeof(float));
  EXPECT_LT(qm.weight_bytes(), fp32_bytes / 4);
}

// --- checkpoint ---

TEST(QuantizedCheckpoint, SaveLoadRoundTripGivesIdenticalLogits) {
  struct Case {
    const char* spec;
    bool tied;
  };
  for (const Case& c : {Case{"rtn:bits=4,group_size=32", false}, Case{"rtn:bits=3,group_size=channel,symmetric=true", true},
                        Case{"nf4", false}}) {
    SCOPED_TRACE(c.spec);
    TempDir dir;
    QuantizedModel qm = QuantizedModel::quantize(small_model(true, c.tied), QuantSpec::parse(c.spec));
    // Scales trained away from the quantizer's values must survive the round trip.
    std::vector<float> trained = qm.layers()[3].scales();
    for (float& s : trained) s *= 1.001f;
    qm.layers()[3].set_scales(trained);
    qm.save(dir.path());
    const QuantizedModel back = QuantizedModel::load(dir.path());
    EXPECT_EQ(back.spec().to_string(), qm.spec().to_string());
    ASSERT_EQ(back.layers().size(), qm.layers().size());
    for (size_t l = 0; l < qm.layers().size(); ++l) {
      EXPECT_EQ(back.layers()[l].packed_codes(), qm.layers()[l].packed_codes());
      EXPECT_EQ(back.layers()[l].zero_points(), qm.layers()[l].zero_points());
      EXPECT_TRUE(bit_identical({back.layers()[l].scales()}, {qm.layers()[l].scales()}));
    }
    EXPECT_EQ(back.weight_bytes(), qm.weight_bytes());
    const std::vector<int32_t> tokens = some_tokens(2 * 20, 64, 13);
    EXPECT_EQ(back.forward_logits(tokens, 2, 20), qm.forward_logits(tokens, 2, 20));
    EXPECT_EQ(back.forward_logits(tokens, 2, 20, Perturbation{5, 1e-2f}),
              qm.forward_logits(tokens, 2, 20, Perturbation{5, 1e-2f}));

    const SafetensorsReader reader = SafetensorsReader::open(dir.path());
    EXPECT_FALSE(reader.has("model.layers.0.mlp.up_proj.weight"));
    const TensorView& q = reader.get("model.layers.0.mlp.up_proj.qweight");
    EXPECT_EQ(q.dtype, DType::U8);
    EXPECT_EQ(q.shape, (std::vector<int64_t>{256, static_cast<int64_t>(qm.layers()[5].row_bytes())}));
    EXPECT_EQ(reader.get("model.layers.0.mlp.up_proj.scales").dtype, DType::F32);
    EXPECT_EQ(reader.has("model.layers.0.mlp.up_proj.qzeros"), qm.spec().method == QuantMethod::Rtn);
    EXPECT_TRUE(reader.has("model.layers.0.self_attn.q_proj.bias"));
  }
}

TEST(QuantizedCheckpoint, ConfigCarriesTheQuantizationConfig) {
  TempDir dir;
  QuantizedModel::quantize(small_model(), QuantSpec::parse("rtn:bits=3,group_size=channel,symmetric=true"))
      .save(dir.path());
  std::ifstream in(dir.path() + "/config.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  const nlohmann::json& q = j.at("quantization_config");
  EXPECT_EQ(q.at("quant_method"), "qzo-rtn");
  EXPECT_EQ(q.at("bits"), 3);
  EXPECT_EQ(q.at("group_size"), -1);
  EXPECT_EQ(q.at("symmetric"), true);
  EXPECT_EQ(j.at("hidden_size"), 128);
  EXPECT_TRUE(is_quantized_checkpoint(dir.path()));
}

TEST(QuantizedCheckpoint, CopiesTheTokenizerFilesOfTheSourceFolder) {
  TempDir src, out;
  std::ofstream(src.path() + "/tokenizer.json") << "{\"model\": {}}";
  std::ofstream(src.path() + "/tokenizer_config.json") << "{\"bos_token\": \"<s>\"}";
  QuantizedModel::quantize(small_model(), QuantSpec::parse("nf4")).save(out.path(), src.path());
  EXPECT_EQ(read_text_file(out.path() + "/tokenizer.json"), "{\"model\": {}}");
  EXPECT_EQ(read_text_file(out.path() + "/tokenizer_config.json"), "{\"bos_token\": \"<s>\"}");
}

// Rewrites model.safetensors with `edit` applied to its tensor list.
void rewrite_tensors(const std::string& dir, const std::function<void(std::vector<TensorView>&,
                                                                      std::vector<std::vector<uint8_t>>&)>& edit) {
  std::vector<TensorView> views;
  std::vector<std::vector<uint8_t>> storage;
  {
    const SafetensorsReader reader = SafetensorsReader::open(dir);
    for (const std::string& name : reader.names()) {
      const TensorView& t = reader.get(name);
      storage.emplace_back(static_cast<const uint8_t*>(t.data), static_cast<const uint8_t*>(t.data) + t.nbytes);
    }
    for (const std::string& name : reader.names()) views.push_back(reader.get(name));
  }
  for (size_t i = 0; i < views.size(); ++i) views[i].data = storage[i].data();
  edit(views, storage);
  write_safetensors(dir + "/model.safetensors", views);
}

TensorView& tensor(std::vector<TensorView>& views, const std::string& name) {
  for (TensorView& v : views)
    if (v.name == name) return v;
  throw std::runtime_error("test: no tensor " + name);
}

TEST(QuantizedCheckpoint, CorruptTensorsGiveOneLineErrorsNamingTheTensor) {
  struct Case {
    const char* what;
    std::string tensor;
    std::function<void(std::vector<TensorView>&, std::vector<std::vector<uint8_t>>&)> edit;
  };
  const std::string down = "model.layers.1.mlp.down_proj", k = "model.layers.0.self_attn.k_proj";
  const std::vector<Case> cases = {
      {"missing qweight", down + ".qweight",
       [&](auto& v, auto&) { v.erase(std::find_if(v.begin(), v.end(), [&](auto& t) { return t.name == down + ".qweight"; })); }},
      {"missing qzeros", down + ".qzeros",
       [&](auto& v, auto&) { v.erase(std::find_if(v.begin(), v.end(), [&](auto& t) { return t.name == down + ".qzeros"; })); }},
      {"scales transposed", k + ".scales", [&](auto& v, auto&) { std::swap(tensor(v, k + ".scales").shape[0], tensor(v, k + ".scales").shape[1]); }},
      {"qweight as I8", k + ".qweight", [&](auto& v, auto&) { tensor(v, k + ".qweight").dtype = DType::I8; }},
      {"zero point out of range", k + ".qzeros",
       [&](auto& v, auto&) { const_cast<uint8_t*>(static_cast<const uint8_t*>(tensor(v, k + ".qzeros").data))[3] = 200; }},
      {"NaN scale", k + ".scales",
       [&](auto& v, auto&) { static_cast<float*>(const_cast<void*>(tensor(v, k + ".scales").data))[1] = NAN; }},
      {"missing norm", "model.norm.weight",
       [&](auto& v, auto&) { v.erase(std::find_if(v.begin(), v.end(), [&](auto& t) { return t.name == "model.norm.weight"; })); }},
      {"unquantized weight left in", k + ".weight",
       [&](auto& v, auto& storage) {
         storage.emplace_back(64 * 128 * 4, 0);
         TensorView t;
         t.name = k + ".weight";
         t.shape = {64, 128};
         t.data = storage.back().data();
         t.nbytes = storage.back().size();
         v.push_back(t);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir dir;
    QuantizedModel::quantize(small_model(), QuantSpec::parse("rtn:bits=4,group_size=32")).save(dir.path());
    rewrite_tensors(dir.path(), c.edit);
    const std::string msg = error_of([&] { QuantizedModel::load(dir.path()); });
    EXPECT_NE(msg.find("'" + c.tensor + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(QuantizedCheckpoint, BadQuantizationConfigNamesTheKey) {
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> edit;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"unknown method", [](auto& j) { j["quantization_config"]["quant_method"] = "awq"; },
       "quantization_config.quant_method 'awq' is not supported"},
      {"no quantization_config", [](auto& j) { j.erase("quantization_config"); }, "no 'quantization_config'"},
      {"bad bits", [](auto& j) { j["quantization_config"]["bits"] = 5; }, "quantization_config.bits"},
      {"bits as text", [](auto& j) { j["quantization_config"]["bits"] = "4"; }, "quantization_config.bits"},
      {"zero group size", [](auto& j) { j["quantization_config"]["group_size"] = 0; }, "quantization_config.group_size"},
      {"group size not dividing", [](auto& j) { j["quantization_config"]["group_size"] = 96; },
       "model.layers.0.self_attn.q_proj.weight"},
      {"missing symmetric", [](auto& j) { j["quantization_config"].erase("symmetric"); },
       "quantization_config.symmetric is missing"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir dir;
    QuantizedModel::quantize(small_model(), QuantSpec::parse("rtn:bits=4,group_size=32")).save(dir.path());
    nlohmann::json j = nlohmann::json::parse(read_text_file(dir.path() + "/config.json"));
    c.edit(j);
    std::ofstream(dir.path() + "/config.json") << j.dump();
    const std::string msg = error_of([&] { QuantizedModel::load(dir.path()); });
    EXPECT_NE(msg.find(dir.path() + "/config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.expected), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

// --- perplexity ---

TEST(Perplexity, UniformPredictionsHaveThePerplexityOfTheVocabulary) {
  Model model = small_model();
  Parameter& head = model.parameters()[model.parameter_id("lm_head.weight")];
  std::fill(head.f32(), head.f32() + head.numel(), 0.0f);
  const std::vector<std::vector<int32_t>> docs = {some_tokens(50, 64, 1), some_tokens(9, 64, 2)};
  EXPECT_NEAR(perplexity(model, nullptr, docs, 16), 64.0, 1e-3);
}

TEST(Perplexity, EveryTokenAfterADocumentsFirstIsPredictedOnce) {
  const Model model = small_model();
  std::vector<std::vector<int32_t>> docs;
  int64_t expected = 0;
  for (int n : {1, 2, 17, 40, 5, 33}) {
    docs.push_back(some_tokens(n, 64, static_cast<uint64_t>(n)));
    expected += n - 1;
  }
  for (int seq_len : {1, 16, 64}) EXPECT_EQ(heldout_loss(model, nullptr, docs, seq_len, 3).total_count, expected);

  // With windows as long as the longest document, each document is one row of context.
  double whole = 0;
  for (const auto& d : docs) {
    if (d.size() < 2) continue;
    Batch b;
    b.B = 1;
    b.T = static_cast<int>(d.size()) - 1;
    b.tokens.assign(d.begin(), d.end() - 1);
    b.targets.assign(d.begin() + 1, d.end());
    whole += model.forward_loss(b).total_loss;
  }
  EXPECT_NEAR(heldout_loss(model, nullptr, docs, 64, 4).total_loss, whole, 1e-5 * whole);
}

TEST(Perplexity, WindowLongerThanTheModelIsAnError) {
  const Model model = small_model();
  const std::string msg = error_of([&] { perplexity(model, nullptr, {some_tokens(10, 64, 1)}, 65); });
  EXPECT_NE(msg.find("max_position_embeddings"), std::string::npos) << msg;
  EXPECT_THROW(perplexity(model, nullptr, {{3}}, 16), Error);
}

}  // namespace
}  // namespace qzo
