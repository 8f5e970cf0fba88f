// NF4 with double-quantized absmax, QLoRA's frozen base in bitsandbytes' layout: the signed
// dynamic map, high-nibble-first packing, the spec, the quantizer against an independent numpy
// fixture (tests/data/reference/make_nf4_double_quant.py), its error next to plain NF4, the
// refusal of a perturbation, the bytes it stores and the checkpoint round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/io/safetensors.h"
#include "framework/quant/quantized_linear.h"
#include "framework/quant/quantized_model.h"
#include "framework/quant/quantizer.h"
#include "kernels/double_quant.h"
#include "kernels/nf4.h"
#include "kernels/ops.h"
#include "kernels/packing.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace qzo {
namespace {

const std::string kFixture = std::string(QZO_TEST_DATA) + "/reference/nf4_double_quant.safetensors";
const QuantSpec kDoubleQuant = QuantSpec::parse("nf4:double_quant=true");

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<uint8_t> u8(const SafetensorsReader& reader, const std::string& name) {
  const TensorView& t = reader.get(name);
  EXPECT_EQ(t.dtype, DType::U8) << name;
  const auto* bytes = static_cast<const uint8_t*>(t.data);
  return std::vector<uint8_t>(bytes, bytes + t.nbytes);
}

// Rows of different scales, as the layers of a trained model have.
std::vector<float> layer_weight(int out, int in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::uniform_real_distribution<float> log_scale(-1.5f, 1.5f);
  std::vector<float> W(size_t(out) * in);
  for (int r = 0; r < out; ++r) {
    const float s = std::exp(log_scale(rng));
    for (int c = 0; c < in; ++c) W[size_t(r) * in + c] = s * normal(rng);
  }
  return W;
}

std::vector<float> dequantized(const QuantizedLinear& L) {
  std::vector<float> W(size_t(L.out_features()) * L.in_features());
  L.dequantize(W.data());
  return W;
}

double mse(const std::vector<float>& a, const std::vector<float>& b) {
  double e = 0;
  for (size_t i = 0; i < a.size(); ++i) e += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return e / double(a.size());
}

// ---- the signed dynamic map ------------------------------------------------------------------

TEST(DynamicMap, SignedMapEqualsTheIndependentFixtureBitForBit) {
  const std::vector<float> want = SafetensorsReader::open(kFixture).read_f32("dynamic_map", {256});
  EXPECT_TRUE(bit_equal(std::vector<float>(kSignedDynamicMap.value, kSignedDynamicMap.value + 256), want));
  EXPECT_EQ(kSignedDynamicMap.value[0], -0.99296875f);
  EXPECT_EQ(kSignedDynamicMap.value[127], 0.0f);
  EXPECT_EQ(kSignedDynamicMap.value[255], 1.0f);
  EXPECT_TRUE(std::is_sorted(kSignedDynamicMap.value, kSignedDynamicMap.value + 256));
}

TEST(DynamicMap, NearestIsTheClosestEntryWithTiesToTheLowerIndex) {
  const float* map = kSignedDynamicMap.value;
  auto brute_force = [&](float x) {
    int best = 0;
    for (int k = 1; k < 256; ++k)
      if (std::fabs(x - map[k]) < std::fabs(x - map[best])) best = k;
    return uint8_t(best);
  };
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int i = 0; i < 20000; ++i) {
    // Uniform in [-1, 1] and log-spread toward 0, where the map is densest.
    const float x = i % 2 ? u(rng) : u(rng) * std::pow(10.0f, -6.0f * std::fabs(u(rng)));
    ASSERT_EQ(dynamic_map_nearest(x), brute_force(x)) << x;
  }
  for (int k = 0; k < 256; ++k) EXPECT_EQ(dynamic_map_nearest(map[k]), k);
  EXPECT_EQ(dynamic_map_nearest(-1.0f), 0);
  EXPECT_EQ(dynamic_map_nearest(0.5f * map[128]), 127);  // equidistant from 0 and map[128]
}

// ---- packing and the spec --------------------------------------------------------------------

TEST(Packing, HighNibbleFirstPutsTheFirstCodeHighAndRoundTrips) {
  const uint8_t codes[3] = {1, 2, 3};
  uint8_t packed[2];
  pack_codes(codes, 3, 4, packed, NibbleOrder::HighFirst);
  EXPECT_EQ(packed[0], 0x12);
  EXPECT_EQ(packed[1], 0x30);

  std::mt19937 rng(5);
  std::vector<uint8_t> many(37), back(37), bytes(packed_bytes(37, 4));
  for (uint8_t& c : many) c = uint8_t(rng() % 16);
  pack_codes(many.data(), many.size(), 4, bytes.data(), NibbleOrder::HighFirst);
  unpack_codes(bytes.data(), many.size(), 4, back.data(), NibbleOrder::HighFirst);
  EXPECT_EQ(back, many);
  EXPECT_EQ(error_of([&] { pack_codes(many.data(), 4, 2, bytes.data(), NibbleOrder::HighFirst); }),
            "code packing: the high-nibble-first order is for 4-bit codes, got 2 bits");
}

TEST(QuantSpec, DoubleQuantIsAnNf4OptionThatRoundTrips) {
  EXPECT_EQ(kDoubleQuant.method, QuantMethod::Nf4);
  EXPECT_EQ(kDoubleQuant.group_size, 64);
  EXPECT_TRUE(kDoubleQuant.double_quant);
  EXPECT_EQ(kDoubleQuant.to_string(), "nf4:bits=4,group_size=64,double_quant=true");
  EXPECT_TRUE(QuantSpec::parse(kDoubleQuant.to_string()).double_quant);
  EXPECT_EQ(QuantSpec::parse("nf4").to_string(), "nf4:bits=4,group_size=64");  // logged runs replay
  EXPECT_FALSE(QuantSpec::parse("nf4:double_quant=false").double_quant);

  EXPECT_EQ(error_of([] { QuantSpec::parse("rtn:double_quant=true"); }),
            "quantizer spec 'rtn:double_quant=true': double_quant=true applies to nf4 only (it quantizes the absmax)");
  EXPECT_EQ(error_of([] { QuantSpec::parse("nf4:double_quant=maybe"); }),
            "quantizer spec 'nf4:double_quant=maybe': double_quant must be true or false, got 'maybe'");
  QuantSpec rtn = QuantSpec::defaults(QuantMethod::Rtn);
  rtn.double_quant = true;
  EXPECT_EQ(error_of([&] { rtn.validate(); }), "quant.double_quant: applies to nf4 only, got rtn");
}

// ---- the quantizer against the independent fixture ------------------------------------------

// Every part is expected bit for bit: the numpy script and qzo follow the same fp32 operations
// (w / absmax, nearest level with ties to the lower index, the mean rounded once). Only a
// rounding tie resolved differently could break that, and then a code would differ by one.
TEST(Nf4DoubleQuant, QuantizerMatchesTheIndependentFixture) {
  const SafetensorsReader fx = SafetensorsReader::open(kFixture);
  const int out = 24, in = 768;
  const std::vector<float> W = fx.read_f32("weight", {out, in});
  const QuantizedLinear L = QuantizedLinear::quantize(W.data(), out, in, kDoubleQuant);

  EXPECT_EQ(L.packed_codes(), u8(fx, "packed_codes"));
  const DoubleQuantizedAbsmax absmax = L.double_quantized_absmax();
  EXPECT_EQ(absmax.codes, u8(fx, "absmax_codes"));
  EXPECT_TRUE(bit_equal(absmax.absmax2, fx.read_f32("absmax2", {2})));
  EXPECT_TRUE(bit_equal({absmax.offset}, fx.read_f32("offset", {1})));
  // The plain NF4 scales are the absmax the double quantization starts from.
  EXPECT_TRUE(bit_equal(QuantizedLinear::quantize(W.data(), out, in, QuantSpec::parse("nf4")).scales(),
                        fx.read_f32("absmax", {288})));

  const std::vector<float> want_absmax = fx.read_f32("dequantized_absmax", {288}), got_absmax = L.scales();
  for (size_t j = 0; j < want_absmax.size(); ++j)
    ASSERT_NEAR(got_absmax[j], want_absmax[j], 1e-7f * std::fabs(want_absmax[j])) << "absmax " << j;
  const std::vector<float> want = fx.read_f32("dequantized", {out, in}), got = dequantized(L);
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-7f * std::fabs(want[i])) << "weight " << i;
}

// ---- accuracy --------------------------------------------------------------------------------

// 256 × 1024 in blocks of 64: 4096 absmax in 16 second-level blocks.
struct Pair {
  std::vector<float> W = layer_weight(256, 1024, 11);
  QuantizedLinear plain = QuantizedLinear::quantize(W.data(), 256, 1024, QuantSpec::parse("nf4"));
  QuantizedLinear double_quant = QuantizedLinear::quantize(W.data(), 256, 1024, kDoubleQuant);
};

// The centered absmax / absmax2 lies in [-1, 1], within half the map's widest gap
// (0.9/128, between the top decade's midpoints and from -1 to the lowest entry) of its code.
TEST(Nf4DoubleQuant, AbsmaxErrorIsWithinHalfTheMapsWidestGapTimesAbsmax2) {
  const Pair p;
  const std::vector<float> exact = p.plain.scales(), decoded = p.double_quant.scales();
  const DoubleQuantizedAbsmax absmax = p.double_quant.double_quantized_absmax();
  for (size_t j = 0; j < exact.size(); ++j) {
    const float bound = absmax.absmax2[j / kDoubleQuantBlock] * (0.9f / 128) * 1.0001f + 1e-7f * exact[j];
    ASSERT_LE(std::fabs(decoded[j] - exact[j]), bound) << "absmax " << j;
  }
}

// Rows whose scales spread over a factor of 20 (e^±1.5) put the small rows' absmax far below
// the mean, where the map is coarse next to them; still the reconstruction error grows by only
// 0.75% (measured) over plain NF4's, and the two decodings differ by 0.7% of NF4's own error.
TEST(Nf4DoubleQuant, DequantizationErrorIsWithinOnePercentOfPlainNf4) {
  const Pair p;
  const double plain = mse(dequantized(p.plain), p.W), dq = mse(dequantized(p.double_quant), p.W);
  EXPECT_LE(dq, 1.01 * plain);
  EXPECT_LE(mse(dequantized(p.double_quant), dequantized(p.plain)), 0.01 * plain);
}

TEST(Nf4DoubleQuant, CodesAreThoseOfPlainNf4AndDecodeThroughTheDecodedAbsmax) {
  const Pair p;
  const std::vector<float> scales = p.double_quant.scales(), W = dequantized(p.double_quant);
  for (int r = 0; r < 256; r += 17)
    for (int c = 0; c < 1024; ++c) {
      ASSERT_EQ(p.double_quant.code(r, c), p.plain.code(r, c)) << r << ", " << c;
      const float want = scales[size_t(r) * 16 + c / 64] * kNf4Codebook[p.double_quant.code(r, c)];
      ASSERT_EQ(W[size_t(r) * 1024 + c], want) << r << ", " << c;
    }
}

// g = 64 and 16 take the vectorized 4-bit path, g = 6 its scalar tail, g = 7 the unpacking path.
TEST(Nf4DoubleQuant, EveryCpuPathDecodesTheGroupFormulaBitForBit) {
  for (const int g : {64, 16, 6, 7}) {
    SCOPED_TRACE("group_size " + std::to_string(g));
    const int out = 40, in = g * 12;
    const std::vector<float> Wf = layer_weight(out, in, uint32_t(g));
    const QuantizedLinear L = QuantizedLinear::quantize(Wf.data(), out, in,
                                                        QuantSpec::parse("nf4:double_quant=true,group_size=" + std::to_string(g)));
    const std::vector<float> scales = L.scales(), W = dequantized(L);
    for (int r = 0; r < out; ++r)
      for (int c = 0; c < in; ++c)
        ASSERT_EQ(W[size_t(r) * in + c], scales[size_t(r) * 12 + c / g] * kNf4Codebook[L.code(r, c)]) << r << ", " << c;
  }
}

// ---- the op layer and the layer's API --------------------------------------------------------

TEST(Nf4DoubleQuant, LinearForwardReadsTheDecodedWeight) {
  const int M = 3, K = 128, N = 40;
  const std::vector<float> Wf = layer_weight(N, K, 4), inp = layer_weight(M, K, 5), bias = layer_weight(1, N, 6);
  const QuantizedLinear L = QuantizedLinear::quantize(Wf.data(), N, K, kDoubleQuant);
  Workspace ws(cpu_backend(), MemoryComponent::Workspace);
  std::vector<float> got(size_t(M) * N), want(size_t(M) * N);
  ops::linear_forward(cpu_backend(), ws, got.data(), inp.data(), WeightOperand::of_quantized(L.view()), bias.data(), M,
                      K, N);
  ops::matmul_forward(cpu_backend(), want.data(), inp.data(), dequantized(L).data(), bias.data(), M, K, N);
  EXPECT_TRUE(bit_equal(got, want));
}

TEST(Nf4DoubleQuant, PerturbingOrTrainingTheFrozenBaseIsRefusedInOneLine) {
  const std::vector<float> Wf = layer_weight(8, 128, 7);
  QuantizedLinear L = QuantizedLinear::quantize(Wf.data(), 8, 128, kDoubleQuant);
  std::vector<float> W(8 * 128), offsets(L.num_scales(), 0.0f);
  const std::string refused =
      "dequantize: a double-quantized NF4 weight cannot be perturbed (QZO trains fp32 scales; double quantization "
      "is for a frozen base)";
  EXPECT_EQ(error_of([&] { L.dequantize_perturbed(W.data(), 1, 0, 1e-3f); }), refused);
  EXPECT_EQ(error_of([&] { L.dequantize_perturbed(W.data(), offsets.data()); }), refused);
  Workspace ws(cpu_backend(), MemoryComponent::Workspace);
  const WeightOperand perturbed = WeightOperand::of_quantized(L.view()).with_perturbation({1, 0, 1e-3f});
  EXPECT_EQ(error_of([&] { ops::materialize_f32(cpu_backend(), ws, perturbed); }), refused);
  const std::string frozen =
      ": a double-quantized NF4 layer has no fp32 scales (QZO trains fp32 scales; double quantization is for a "
      "frozen base)";
  EXPECT_EQ(error_of([&] { L.set_scales(L.scales()); }), "quantized layer: set_scales" + frozen);
  EXPECT_EQ(error_of([&] { L.scales_data(); }), "quantized layer: scales_data" + frozen);
}

// Codes 4 bits, one 8-bit absmax code per 64 weights, one fp32 absmax2 per 256 blocks and one
// fp32 offset: 4 + 8/64 + 32/16384 ≈ 4.127 bits per weight (plain NF4 g64: 4.5).
TEST(Nf4DoubleQuant, StorageCountsTheRealBytesAbout4Point127BitsPerWeight) {
  const Pair p;
  EXPECT_EQ(p.double_quant.storage_bytes(), size_t(256 * 1024 / 2 + 4096 + 16 * 4 + 4));
  EXPECT_NEAR(8.0 * double(p.double_quant.storage_bytes()) / (256 * 1024), 4.127, 5e-4);
  EXPECT_EQ(p.plain.storage_bytes(), size_t(256 * 1024 / 2 + 4096 * 4));
}

TEST(Nf4DoubleQuant, AdoptingPartsChecksEverySizeInOneLine) {
  const Pair p;
  const std::vector<uint8_t> codes = p.double_quant.packed_codes();
  DoubleQuantizedAbsmax absmax = p.double_quant.double_quantized_absmax();
  auto adopt = [&](const std::vector<uint8_t>& c, const DoubleQuantizedAbsmax& a) {
    return QuantizedLinear::from_double_quant_parts(256, 1024, kDoubleQuant, c, a, "up_proj.weight");
  };
  EXPECT_TRUE(bit_equal(dequantized(adopt(codes, absmax)), dequantized(p.double_quant)));
  DoubleQuantizedAbsmax short_absmax2 = absmax;
  short_absmax2.absmax2.pop_back();
  EXPECT_EQ(error_of([&] { adopt(codes, short_absmax2); }),
            "up_proj.weight: absmax2 has 15 elements, expected 16 for nf4:bits=4,group_size=64,double_quant=true");
  absmax.absmax2[3] = 0.0f;
  EXPECT_EQ(error_of([&] { adopt(codes, absmax); }),
            "up_proj.weight: absmax2 0.000000 of block 3 is not a positive finite number");
  EXPECT_EQ(error_of([&] { QuantizedLinear::from_parts(256, 1024, kDoubleQuant, codes, {}, p.plain.scales(), "up_proj.weight"); }),
            "up_proj.weight: nf4:bits=4,group_size=64,double_quant=true has no fp32 scales (adopt it with "
            "from_double_quant_parts)");
}

// ---- the quantized model and its checkpoint --------------------------------------------------

Model small_model() {
  ModelConfig c;
  c.vocab_size = 64;
  c.hidden_size = 128;
  c.intermediate_size = 256;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 32;
  c.max_position_embeddings = 64;
  return Model::init(c, 7, 0.05f);
}

std::vector<int32_t> some_tokens(int n) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = (i * 37 + 11) % 64;
  return t;
}

TEST(Nf4DoubleQuant, CheckpointRoundTripsUnderBitsandbytesNames) {
  TempDir dir("qzo_nf4dq");
  const QuantizedModel qm = QuantizedModel::quantize(small_model(), kDoubleQuant);
  EXPECT_EQ(qm.trainable_bytes(), 0u);
  qm.save(dir.path());
  const QuantizedModel back = QuantizedModel::load(dir.path());
  EXPECT_EQ(back.spec().to_string(), kDoubleQuant.to_string());
  ASSERT_EQ(back.layers().size(), qm.layers().size());
  for (size_t l = 0; l < qm.layers().size(); ++l) {
    const DoubleQuantizedAbsmax a = back.layers()[l].double_quantized_absmax(), b = qm.layers()[l].double_quantized_absmax();
    EXPECT_EQ(back.layers()[l].packed_codes(), qm.layers()[l].packed_codes());
    EXPECT_EQ(a.codes, b.codes);
    EXPECT_TRUE(bit_equal(a.absmax2, b.absmax2));
    EXPECT_TRUE(bit_equal({a.offset}, {b.offset}));
  }
  EXPECT_EQ(back.weight_bytes(), qm.weight_bytes());
  const std::vector<int32_t> tokens = some_tokens(2 * 20);
  EXPECT_EQ(back.forward_logits(tokens, 2, 20), qm.forward_logits(tokens, 2, 20));

  const SafetensorsReader reader = SafetensorsReader::open(dir.path());
  const std::string w = "model.layers.0.mlp.up_proj.weight";  // [256, 128]: 512 absmax, 2 blocks
  EXPECT_EQ(reader.get(w).dtype, DType::U8);
  EXPECT_EQ(reader.get(w).shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(reader.get(w + ".absmax").shape, (std::vector<int64_t>{512}));
  EXPECT_EQ(reader.get(w + ".quant_map").shape, (std::vector<int64_t>{16}));
  EXPECT_EQ(reader.get(w + ".nested_absmax").shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(reader.get(w + ".nested_quant_map").shape, (std::vector<int64_t>{256}));
  EXPECT_EQ(reader.get(w + ".nested_offset").shape, (std::vector<int64_t>{1}));
  EXPECT_FALSE(reader.has("model.layers.0.mlp.up_proj.qweight"));
  EXPECT_FALSE(reader.has("model.layers.0.mlp.up_proj.scales"));
  std::ifstream config(dir.file("config.json"));
  EXPECT_EQ(nlohmann::json::parse(config).at("quantization_config").at("double_quant"), true);
}

TEST(Nf4DoubleQuant, AQuantizedModelRefusesAPerturbedForward) {
  const QuantizedModel qm = QuantizedModel::quantize(small_model(), kDoubleQuant);
  EXPECT_NE(error_of([&] { qm.forward_logits(some_tokens(8), 1, 8, Perturbation{5, 1e-3f}); }).find("cannot be perturbed"),
            std::string::npos);
}

// A map that is not qzo's would decode differently on load: the loader names the entry.
TEST(Nf4DoubleQuant, LoadRejectsAStoredMapThatIsNotQzos) {
  TempDir dir("qzo_nf4dq");
  QuantizedModel::quantize(small_model(), kDoubleQuant).save(dir.path());
  const std::string file = dir.file("model.safetensors");
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<TensorView> tensors;
  {
    const SafetensorsReader reader = SafetensorsReader::open(file);
    for (const std::string& name : reader.names()) {
      const TensorView& t = reader.get(name);
      const auto* b = static_cast<const uint8_t*>(t.data);
      bytes.emplace_back(b, b + t.nbytes);
      tensors.push_back({name, t.dtype, t.shape, nullptr, t.nbytes});
    }
  }
  const std::string tampered = "model.layers.1.self_attn.o_proj.weight.nested_quant_map";
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == tampered) {
      float v;
      std::memcpy(&v, bytes[i].data() + 3 * sizeof(float), sizeof v);
      v = std::nextafter(v, 0.0f);
      std::memcpy(bytes[i].data() + 3 * sizeof(float), &v, sizeof v);
    }
    tensors[i].data = bytes[i].data();
  }
  write_safetensors(file, tensors);
  const std::string e = error_of([&] { QuantizedModel::load(dir.path()); });
  EXPECT_EQ(e.substr(0, e.find(" (")),
            file + ": tensor '" + tampered + "' differs from the signed dynamic map at index 3");
}

}  // namespace
}  // namespace qzo
