// Specification of the safetensors reader/writer: round trips of every dtype, the sharded
// HF layout, a file written by numpy, and one located error message per kind of bad file.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/io/safetensors.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

// Owns the bytes behind TensorViews built in tests.
struct TensorSet {
  std::vector<std::vector<uint8_t>> storage;
  std::vector<TensorView> views;

  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, uint8_t seed) {
    TensorView v;
    v.name = name;
    v.dtype = dtype;
    v.shape = std::move(shape);
    std::vector<uint8_t> bytes(static_cast<size_t>(v.numel()) * dtype_size(dtype));
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(seed + 31 * i);
    if (dtype == DType::BOOL)
      for (auto& b : bytes) b &= 1;
    storage.push_back(std::move(bytes));
    v.nbytes = storage.back().size();
    v.data = storage.back().data();
    views.push_back(v);
  }
  void add_f32(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values) {
    add(name, DType::F32, std::move(shape), 0);
    std::memcpy(storage.back().data(), values.data(), values.size() * 4);
  }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A raw file: little-endian header length, the header text as given, `data_bytes` zeros.
std::string raw_file(const std::string& header, size_t data_bytes, uint64_t header_len = UINT64_MAX) {
  if (header_len == UINT64_MAX) header_len = header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(header_len >> (8 * i));
  return out + header + std::string(data_bytes, '\0');
}

void expect_mentions(const std::string& message, const std::vector<std::string>& parts) {
  if (std::getenv("QZO_SHOW_ERRORS")) std::printf("  error: %s\n", message.c_str());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  for (const auto& p : parts) EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
}

TEST(Safetensors, RoundTripsEveryDtype) {
  TempDir dir;
  TensorSet set;
  uint8_t seed = 1;
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL})
    set.add("t." + dtype_name(t), t, {2, 3, static_cast<int64_t>(seed)}, seed++);
  set.add("scalar", DType::F32, {}, 7);
  set.add("empty", DType::I8, {4, 0}, 9);
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "round trip"}};
  write_safetensors(dir.file("m.safetensors"), set.views, meta);

  const auto reader = SafetensorsReader::open(dir.file("m.safetensors"));
  EXPECT_EQ(reader.metadata(), meta);
  EXPECT_EQ(reader.names().size(), set.views.size());
  for (const TensorView& want : set.views) {
    const TensorView& got = reader.get(want.name, want.shape);
    EXPECT_EQ(got.dtype, want.dtype) << want.name;
    ASSERT_EQ(got.nbytes, want.nbytes) << want.name;
    if (want.nbytes > 0) {
      EXPECT_EQ(std::memcmp(got.data, want.data, want.nbytes), 0) << want.name;
    }
    EXPECT_EQ(reader.file_of(want.name), dir.file("m.safetensors"));
  }
  // The padded header puts the data section, and so the first tensor, on an 8-byte boundary.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(reader.get(reader.names().front()).data) % 8, 0u);
}

TEST(Safetensors, HeaderIsSortedSpacePaddedAndDataFollowsInNameOrder) {
  TempDir dir;
  TensorSet set;
  set.add("zeta", DType::F32, {3}, 1);
  set.add("alpha", DType::BF16, {5}, 2);
  set.add("mid", DType::U8, {1}, 3);
  write_safetensors(dir.file("m.safetensors"), set.views);
  const std::string bytes = read_text_file(dir.file("m.safetensors"));

  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  const std::string header = bytes.substr(8, n);
  const size_t last = header.find_last_not_of(' ');
  EXPECT_EQ(header[last], '}');
  EXPECT_LT(n - last - 1, 8u) << "padding is at most 7 spaces";
  EXPECT_LT(header.find("\"alpha\""), header.find("\"mid\""));
  EXPECT_LT(header.find("\"mid\""), header.find("\"zeta\""));
  const auto j = nlohmann::json::parse(header);
  EXPECT_EQ(j["alpha"]["data_offsets"], nlohmann::json({0, 10}));
  EXPECT_EQ(j["mid"]["data_offsets"], nlohmann::json({10, 11}));
  EXPECT_EQ(j["zeta"]["data_offsets"], nlohmann::json({11, 23}));
  EXPECT_EQ(bytes.size(), 8 + n + 23);
}

TEST(Safetensors, WriteIsAtomicAndReplacesExistingFile) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  TensorSet first, second;
  first.add("a", DType::F32, {4}, 1);
  second.add("b", DType::I32, {2}, 2);
  write_safetensors(path, first.views);
  write_safetensors(path, second.views);
  EXPECT_FALSE(file_exists(path + ".tmp"));
  const auto reader = SafetensorsReader::open(path);
  EXPECT_EQ(reader.names(), std::vector<std::string>{"b"});

  // A write that cannot complete leaves neither the file nor its temp behind.
  const std::string bad = dir.file("no/such/folder/m.safetensors");
  expect_mentions(error_of([&] { write_safetensors(bad, first.views); }), {bad + ".tmp"});
  EXPECT_FALSE(file_exists(bad));
}

TEST(Safetensors, WriterRejectsTensorWhoseBytesDoNotMatchItsShape) {
  TempDir dir;
  TensorSet set;
  set.add("w", DType::F32, {2, 2}, 1);
  set.views[0].nbytes = 12;
  const std::string path = dir.file("m.safetensors");
  expect_mentions(error_of([&] { write_safetensors(path, set.views); }), {path, "'w'", "16"});
  EXPECT_FALSE(file_exists(path));
}

TEST(Safetensors, ShardedRoundTripFollowsHfLayout) {
  TempDir dir;
  TensorSet set;
  for (int i = 0; i < 7; ++i) set.add("layer." + std::to_string(i), DType::F32, {10}, uint8_t(i));  // 40 B each
  set.add("big", DType::BF16, {100}, 50);  // 200 B: larger than a shard, gets its own
  write_safetensors_sharded(dir.path(), set.views, 100, {{"format", "pt"}});

  const auto index = nlohmann::json::parse(read_text_file(dir.file("model.safetensors.index.json")));
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), 7u * 40 + 200);
  // Name order: big | layer.0 layer.1 | layer.2 layer.3 | layer.4 layer.5 | layer.6
  EXPECT_EQ(index["weight_map"]["big"], "model-00001-of-00005.safetensors");
  EXPECT_EQ(index["weight_map"]["layer.1"], "model-00002-of-00005.safetensors");
  EXPECT_EQ(index["weight_map"]["layer.6"], "model-00005-of-00005.safetensors");
  for (int k = 1; k <= 5; ++k)
    EXPECT_TRUE(file_exists(dir.file("model-0000" + std::to_string(k) + "-of-00005.safetensors")));

  for (const std::string& open_path : {dir.path(), dir.file("model.safetensors.index.json")}) {
    const auto reader = SafetensorsReader::open(open_path);
    EXPECT_EQ(reader.names().size(), set.views.size());
    EXPECT_EQ(reader.metadata().at("format"), "pt");
    EXPECT_EQ(reader.file_of("layer.3"), dir.file("model-00003-of-00005.safetensors"));
    for (const TensorView& want : set.views) {
      const TensorView& got = reader.get(want.name, want.shape);
      ASSERT_EQ(got.nbytes, want.nbytes);
      EXPECT_EQ(std::memcmp(got.data, want.data, want.nbytes), 0) << want.name;
    }
  }
}

TEST(Safetensors, FolderPrefersSingleFileAndNamesItselfWhenEmpty) {
  TempDir dir;
  expect_mentions(error_of([&] { SafetensorsReader::open(dir.path()); }),
                  {dir.path(), "model.safetensors.index.json"});
  TensorSet set;
  set.add("x", DType::U8, {3}, 1);
  write_safetensors(dir.file("model.safetensors"), set.views);
  EXPECT_EQ(SafetensorsReader::open(dir.path()).file_of("x"), dir.file("model.safetensors"));
}

TEST(Safetensors, ReadF32ConvertsHalfPrecisionTensors) {
  TempDir dir;
  const std::vector<float> values = {1.0f, -2.5f, 0.15625f, 65504.0f, -0.0f, 3.0f};
  std::vector<uint16_t> bf16(values.size()), f16(values.size());
  convert_from_f32(DType::BF16, values.data(), bf16.data(), values.size());
  convert_from_f32(DType::F16, values.data(), f16.data(), values.size());
  std::vector<TensorView> views = {
      {"b", DType::BF16, {2, 3}, bf16.data(), bf16.size() * 2},
      {"h", DType::F16, {2, 3}, f16.data(), f16.size() * 2},
      {"f", DType::F32, {2, 3}, values.data(), values.size() * 4},
  };
  write_safetensors(dir.file("m.safetensors"), views);
  const auto reader = SafetensorsReader::open(dir.file("m.safetensors"));
  EXPECT_EQ(reader.read_f32("f", {2, 3}), values);
  EXPECT_EQ(reader.read_f32("h", {2, 3}), values);  // all exactly representable in f16
  const auto b = reader.read_f32("b", {2, 3});
  for (size_t i = 0; i < values.size(); ++i) {
    if (i == 3) continue;
    EXPECT_EQ(b[i], values[i]) << i;
  }
  EXPECT_EQ(b[3], 65536.0f);  // 65504 rounds to the nearest bf16 (8-bit mantissa)
}

TEST(Safetensors, ReadF32RejectsIntegerTensorNamingIt) {
  TempDir dir;
  TensorSet set;
  set.add("ids", DType::I32, {4}, 1);
  const std::string path = dir.file("m.safetensors");
  write_safetensors(path, set.views);
  const auto reader = SafetensorsReader::open(path);
  expect_mentions(error_of([&] { reader.read_f32("ids", {4}); }), {path, "'ids'", "I32"});
}

TEST(Safetensors, NumpyWrittenFileLoads) {
  const std::string path = std::string(QZO_TEST_DATA) + "/safetensors/numpy_fixture.safetensors";
  const auto reader = SafetensorsReader::open(path);
  EXPECT_EQ(reader.metadata().at("format"), "np");
  const auto f32 = reader.read_f32("weights.f32", {3, 4});
  for (int i = 0; i < 12; ++i) EXPECT_EQ(f32[i], i * 0.25f - 1.0f) << i;
  EXPECT_EQ(reader.read_f32("weights.f16", {2, 3}), reader.read_f32("weights.f16.as_f32", {2, 3}));
  EXPECT_EQ(reader.read_f32("weights.bf16", {5}), reader.read_f32("weights.bf16.as_f32", {5}));

  const TensorView& ids = reader.get("ids.i64", {3});
  ASSERT_EQ(ids.dtype, DType::I64);
  std::vector<int64_t> id_values(3);
  std::memcpy(id_values.data(), ids.data, 24);
  EXPECT_EQ(id_values, (std::vector<int64_t>{-3, 0, int64_t(1) << 40}));
  const TensorView& mask = reader.get("mask.bool", {3});
  EXPECT_EQ(mask.dtype, DType::BOOL);
  EXPECT_EQ(std::vector<uint8_t>(static_cast<const uint8_t*>(mask.data), static_cast<const uint8_t*>(mask.data) + 3),
            (std::vector<uint8_t>{1, 0, 1}));
  const TensorView& scalar = reader.get("scalar.i32", {});
  int32_t seven = 0;
  std::memcpy(&seven, scalar.data, 4);
  EXPECT_EQ(seven, 7);
  EXPECT_EQ(reader.get("empty.u8", {0}).nbytes, 0u);
}

// ---- malformed files: one line naming the file (and the tensor where there is one) ----

TEST(Safetensors, CorruptHeaderNamesTheFile) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, "abc");  // shorter than the length prefix
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "corrupt"});
  write_bytes(path, raw_file("{}", 0, 4096));  // length beyond the file
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "4096"});
  write_bytes(path, raw_file("{}", 0, uint64_t(1) << 40));  // absurd length
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "limit"});
  write_bytes(path, raw_file("[1, 2]", 0));
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "JSON object"});
}

TEST(Safetensors, InvalidJsonNamesTheFile) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, raw_file("{\"w\": {\"dtype\": \n\"F32\",", 0));
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "invalid JSON"});
}

TEST(Safetensors, UnknownDtypeNamesFileAndTensor) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, raw_file(R"({"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}})", 2));
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "'w'", "F8_E4M3"});
}

TEST(Safetensors, WrongShapeNamesFileAndTensor) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  TensorSet set;
  set.add("model.norm.weight", DType::F32, {4, 8}, 1);
  write_safetensors(path, set.views);
  const auto reader = SafetensorsReader::open(path);
  expect_mentions(error_of([&] { reader.get("model.norm.weight", {8, 4}); }),
                  {path, "'model.norm.weight'", "[4, 8]", "expected [8, 4]"});
  expect_mentions(error_of([&] { reader.read_f32("model.norm.weight", {32}); }), {path, "[32]"});
}

TEST(Safetensors, MissingTensorNamesFileAndTensor) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  TensorSet set;
  set.add("present", DType::U8, {1}, 1);
  write_safetensors(path, set.views);
  const auto reader = SafetensorsReader::open(path);
  EXPECT_FALSE(reader.has("lm_head.weight"));
  expect_mentions(error_of([&] { reader.get("lm_head.weight"); }), {path, "'lm_head.weight'", "not found"});
}

TEST(Safetensors, TruncatedDataNamesFileAndTensor) {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  TensorSet set;
  set.add("a", DType::F32, {4}, 1);
  set.add("b", DType::F32, {64}, 2);
  write_safetensors(path, set.views);
  fs::resize_file(path, fs::file_size(path) - 10);  // cut into the last tensor's data
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "'b'", "truncated"});
}

TEST(Safetensors, OffsetsThatDisagreeWithShapeNameTheTensor) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, raw_file(R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}})", 16));
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "'w'", "16"});
  write_bytes(path, raw_file(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 0]}})", 0));
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "'w'"});
}

TEST(Safetensors, OverlappingTensorsNameBoth) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, raw_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                             R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                             12));
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path, "'a'", "'b'", "overlaps"});
}

TEST(Safetensors, MissingShardNamesIndexShardAndTensor) {
  TempDir dir;
  TensorSet set;
  set.add("a", DType::F32, {8}, 1);
  set.add("b", DType::F32, {8}, 2);
  write_safetensors_sharded(dir.path(), set.views, 32);
  fs::remove(dir.file("model-00002-of-00002.safetensors"));
  expect_mentions(error_of([&] { SafetensorsReader::open(dir.path()); }),
                  {dir.file("model.safetensors.index.json"), "model-00002-of-00002.safetensors", "'b'"});
}

TEST(Safetensors, IndexListingTensorAbsentFromItsShardNamesBoth) {
  TempDir dir;
  TensorSet set;
  set.add("a", DType::F32, {8}, 1);
  write_safetensors_sharded(dir.path(), set.views, 1024);
  const std::string index = dir.file("model.safetensors.index.json");
  write_bytes(index, R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00001.safetensors",)"
                     R"( "ghost": "model-00001-of-00001.safetensors"}})");
  expect_mentions(error_of([&] { SafetensorsReader::open(index); }),
                  {index, "'ghost'", "model-00001-of-00001.safetensors"});
  write_bytes(index, "{\"weight_map\": ");
  expect_mentions(error_of([&] { SafetensorsReader::open(index); }), {index, "invalid JSON"});
}

TEST(Safetensors, MissingFileNamesIt) {
  const std::string path = "/nonexistent/qzo/model.safetensors";
  expect_mentions(error_of([&] { SafetensorsReader::open(path); }), {path});
}

}  // namespace
}  // namespace qzo
