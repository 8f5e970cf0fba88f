// GPTQ checkpoints in the Hugging Face layout: tiny Llama folders written by an independent
// numpy script (tests/data/reference/make_gptq_checkpoint.py, never by qzo's writer) at 2, 3,
// 4 and 8 bits, with and without act-order, v1 and v2 zeros, load and dequantize to the
// script's weights bit for bit; import → export → import is byte-identical, tensor for tensor;
// the 32-bit stream packing round-trips at every width; a loaded GPTQ model trains its scales.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/io/safetensors.h"
#include "framework/methods/qzo.h"
#include "framework/methods/zo_step.h"
#include "framework/quant/gptq_checkpoint.h"
#include "framework/quant/quantized_model.h"
#include "framework/train/zo_reduce.h"
#include "kernels/packing.h"

namespace qzo {
namespace {

const char* kVariants[] = {"b4-g16-sym-v1",      "b4-g16-act-asym-v1", "b3-g32-asym-v2",
                           "b2-g16-act-asym-v2", "b8-channel-sym-v1",  "b3-g16-act-sym-v1"};

std::string fixture(const std::string& variant) { return std::string(QZO_TEST_DATA) + "/reference/gptq/" + variant; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class GptqFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(GptqFixture, LoadsAndDequantizesToTheScriptsWeights) {
  const QuantizedModel qm = QuantizedModel::load(fixture(GetParam()));
  EXPECT_EQ(qm.spec().method, QuantMethod::Gptq);
  const SafetensorsReader expected = SafetensorsReader::open(fixture(GetParam()) + "/expected.safetensors");
  ASSERT_EQ(qm.layers().size(), 14u);
  for (size_t l = 0; l < qm.layers().size(); ++l) {
    const QuantizedLinear& L = qm.layers()[l];
    const std::string& name = qm.model().parameters()[size_t(qm.param_of(int(l)))].name;
    const std::vector<float> want = expected.read_f32(name, {L.out_features(), L.in_features()});
    std::vector<float> got(want.size());
    L.dequantize(got.data());
    ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << name;
  }
  const bool act_order = std::string(GetParam()).find("-act-") != std::string::npos;
  EXPECT_EQ(qm.layers()[0].act_order(), act_order);
}

// Export in the fixture's own format with its fp16 storage: every tensor comes back with the
// same name, dtype, shape and bytes, and a second import holds the same parts.
TEST_P(GptqFixture, ImportExportImportIsByteIdentical) {
  const std::string dir = fixture(GetParam());
  const QuantizedModel first = QuantizedModel::load(dir, DType::F16);
  const bool v2 = std::string(GetParam()).find("-v2") != std::string::npos;
  const std::string out = ::testing::TempDir() + "/gptq-export-" + GetParam();
  save_hf_gptq(first, out, v2 ? GptqFormat::V2 : GptqFormat::V1);
  const SafetensorsReader original = SafetensorsReader::open(dir), exported = SafetensorsReader::open(out);
  ASSERT_EQ(exported.names(), original.names());
  for (const std::string& name : original.names()) {
    const TensorView &a = original.get(name), &b = exported.get(name);
    EXPECT_EQ(a.dtype, b.dtype) << name;
    EXPECT_EQ(a.shape, b.shape) << name;
    ASSERT_EQ(a.nbytes, b.nbytes) << name;
    EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << name;
  }
  const QuantizedModel second = QuantizedModel::load(out, DType::F16);
  for (size_t l = 0; l < first.layers().size(); ++l) {
    EXPECT_EQ(second.layers()[l].packed_codes(), first.layers()[l].packed_codes());
    EXPECT_EQ(second.layers()[l].zero_points(), first.layers()[l].zero_points());
    EXPECT_EQ(second.layers()[l].scales(), first.layers()[l].scales());
    EXPECT_EQ(second.layers()[l].g_idx(), first.layers()[l].g_idx());
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, GptqFixture, ::testing::ValuesIn(kVariants), [](const auto& info) {
  std::string n = info.param;
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
});

TEST(GptqPacking, StreamsRoundTripAtEveryBitWidth) {
  std::mt19937 rng(3);
  for (int bits : {2, 3, 4, 8}) {
    SCOPED_TRACE(bits);
    const size_t n = 96;  // whole 32-bit words at every width
    std::uniform_int_distribution<uint32_t> value(0, (1u << bits) - 1);
    std::vector<uint32_t> values(n), words(n * size_t(bits) / 32), back(n);
    for (uint32_t& v : values) v = value(rng);
    pack_gptq_stream(values.data(), n, bits, words.data());
    unpack_gptq_stream(words.data(), n, bits, back.data());
    EXPECT_EQ(back, values);
    // qzo's own row packing round-trips too, at every width.
    std::vector<uint8_t> codes(n), packed(packed_bytes(n, bits)), unpacked(n);
    for (size_t i = 0; i < n; ++i) codes[i] = uint8_t(values[i]);
    pack_codes(codes.data(), n, bits, packed.data());
    unpack_codes(packed.data(), n, bits, unpacked.data());
    EXPECT_EQ(unpacked, codes);
  }
  // At 4 bits code k sits at shift 4·(k mod 8) of word k / 8 (AutoGPTQ's layout).
  std::vector<uint32_t> values(8), words(1);
  for (uint32_t k = 0; k < 8; ++k) values[k] = k + 1;
  pack_gptq_stream(values.data(), 8, 4, words.data());
  EXPECT_EQ(words[0], 0x87654321u);
}

TEST(GptqCheckpoint, V1CannotStoreAZeroOfZero) {
  const QuantizedModel qm = QuantizedModel::load(fixture("b3-g32-asym-v2"));  // v2 holds zeros of 0
  const std::string msg = error_of([&] { save_hf_gptq(qm, ::testing::TempDir() + "/v1", GptqFormat::V1); });
  EXPECT_NE(msg.find("has zero point 0, which checkpoint_format gptq (v1, stored as zero − 1) cannot store"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find(".qzeros"), std::string::npos) << msg;
  save_hf_gptq(qm, ::testing::TempDir() + "/v2", GptqFormat::V2);
}

TEST(GptqCheckpoint, ScalesThatDoNotFitInFp16AreRefusedNamingTheTensor) {
  QuantizedModel qm = QuantizedModel::load(fixture("b4-g16-sym-v1"));
  std::vector<float> scales = qm.layers()[1].scales();
  scales[3] = 1e6f;  // above fp16's 65504
  qm.layers()[1].set_scales(scales);
  const std::string msg = error_of([&] { save_hf_gptq(qm, ::testing::TempDir() + "/fp16", GptqFormat::V1); });
  EXPECT_NE(msg.find("model.layers.0.self_attn.k_proj.scales: scale 1000000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not fit in fp16"), std::string::npos) << msg;
}

TEST(GptqCheckpoint, BadFoldersFailInOneLineNamingTheKeyOrTensor) {
  namespace fs = std::filesystem;
  const std::string dir = ::testing::TempDir() + "/gptq-bad";
  fs::remove_all(dir);
  fs::copy(fixture("b4-g16-sym-v1"), dir);
  std::string config = read_text_file(dir + "/config.json");
  const size_t at = config.find("\"checkpoint_format\": \"gptq\"");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 27, "\"checkpoint_format\": \"awq\"");
  std::ofstream(dir + "/config.json") << config;
  const std::string msg = error_of([&] { QuantizedModel::load(dir); });
  EXPECT_NE(msg.find("checkpoint_format must be \"gptq\" or \"gptq_v2\", got \"awq\""), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

// QZO on an imported GPTQ model: the scales move, the codes do not.
TEST(GptqCheckpoint, LoadedModelTrainsItsScales) {
  QuantizedModel qm = QuantizedModel::load(fixture("b4-g16-act-asym-v1"));
  const std::vector<uint8_t> codes = qm.layers()[3].packed_codes();
  const std::vector<float> before = qm.layers()[3].scales();
  QzoParameters p(qm, 1e-7f);
  auto comm = make_local_communicator();
  Batch b;
  b.B = 2;
  b.T = 6;
  b.tokens = {1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22};
  b.targets = {5, 9, 13, 17, 21, 25, 6, 10, 14, 18, 22, 26};
  const Objective f = [&](const WeightSource& w) {
    const LossSums s = qm.model().forward_loss(b, &w);
    return LocalLoss{s.total_loss, double(s.total_count)};
  };
  for (int step = 0; step < 5; ++step) zo_step(p, f, 1, step, 1e-3, ZoOptions{}, *comm);
  EXPECT_NE(qm.layers()[3].scales(), before);
  EXPECT_EQ(qm.layers()[3].packed_codes(), codes);
}

}  // namespace
}  // namespace qzo
