// The backend seam's own contract: buffers are accounted by component, peaks are the
// allocator's, the workspace arena stops allocating after its first pass, and backend
// names are checked.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "framework/dist/placement.h"
#include "kernels/backend.h"
#include "kernels/device.h"
#include "kernels/ops.h"

namespace qzo {
namespace {

TEST(Backend, BuffersCountAgainstTheirComponentUntilFreed) {
  auto be = make_backend("cpu");
  {
    Buffer w = be->alloc(1000, MemoryComponent::Weights);
    Buffer a = be->alloc(300, MemoryComponent::Activations);
    EXPECT_EQ(be->memory().current[int(MemoryComponent::Weights)], 1000u);
    EXPECT_EQ(be->memory().current_total, 1300u);
    Buffer moved = std::move(a);
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(be->memory().current_total, 1300u) << "a move is not an allocation";
  }
  EXPECT_EQ(be->memory().current_total, 0u);
  EXPECT_EQ(be->memory().peak_of(MemoryComponent::Weights), 1000u);
  EXPECT_EQ(be->memory().peak_total, 1300u);
}

TEST(Backend, ResetPeaksStartsARunsAccountingAtWhatIsHeldNow) {
  auto be = make_backend("cpu");
  Buffer kept = be->alloc(64, MemoryComponent::Weights);
  { Buffer transient = be->alloc(4096, MemoryComponent::Weights); }
  be->memory().reset_peaks();
  EXPECT_EQ(be->memory().peak_of(MemoryComponent::Weights), 64u);
  EXPECT_EQ(be->memory().peak_total, 64u);
}

TEST(Workspace, FoldsItsBlocksSoTheSecondPassAllocatesNothing) {
  auto be = make_backend("cpu");
  Workspace ws(*be, MemoryComponent::Workspace);
  for (int pass = 0; pass < 3; ++pass) {
    ws.reset();
    float* a = ws.take<float>(1000);
    float* b = ws.take<float>(100000);  // does not fit the first block
    a[999] = 1.0f;
    b[0] = 2.0f;
    EXPECT_EQ(a[999], 1.0f) << "an earlier slice stays valid when a block is added";
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 256, 0u);
  }
  const size_t peak = be->memory().peak_of(MemoryComponent::Workspace);
  EXPECT_EQ(peak, 4096u + 400128u) << "the peak is the pass's slices (256-byte aligned), not the growth";
  ws.reset();
  ws.take<float>(1000);
  ws.take<float>(100000);
  EXPECT_EQ(be->memory().peak_of(MemoryComponent::Workspace), peak);
  EXPECT_EQ(ws.capacity(), be->memory().current[int(MemoryComponent::Workspace)]);
}

TEST(Workspace, ABlockTooSmallForAPassesFirstSliceIsFreedBeforeTheLargerOneIsAllocated) {
  auto be = make_backend("cpu");
  Workspace ws(*be, MemoryComponent::Workspace);
  ws.reset();
  ws.take<float>(1000);  // one small weight read: a block of 4096 bytes
  ws.reset();
  ws.take<float>(100000);  // the next read is larger: the idle small block must go first
  EXPECT_EQ(be->memory().peak_of(MemoryComponent::Workspace), 400128u)
      << "a pass held the idle block of an earlier, smaller read beside its own";
  EXPECT_EQ(ws.capacity(), 400128u);
}

TEST(Backend, UnknownKindsAreRejectedByName) {
  try {
    make_backend("tpu");
    FAIL() << "tpu accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("'tpu' is not one of cpu, cuda, auto"), std::string::npos) << e.what();
  }
}

TEST(Backend, CudaWithoutAUsableDeviceFailsInOneLineAndAutoFallsBackToTheCpu) {
  std::string why;
  if (cuda_device_count(&why) > 0) GTEST_SKIP() << "a CUDA device is present";
  try {
    make_backend("cuda");
    FAIL() << "cuda accepted without a device";
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("backend cuda: "), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_EQ(make_backend("auto")->kind(), BackendKind::Cpu);
  EXPECT_EQ(resolve_backend_kind("auto"), BackendKind::Cpu);
}

TEST(EmbeddingLookup, ReadsTheRowsAsMaterializingTheWholeTableWould) {
  const int V = 40, D = 24, n = 9;
  std::vector<float> table(size_t(V) * D);
  for (size_t i = 0; i < table.size(); ++i) table[i] = std::sin(float(i)) * 0.1f;
  std::vector<uint16_t> bf16(table.size());
  convert_from_f32(DType::BF16, table.data(), bf16.data(), table.size());
  const std::vector<int32_t> tokens = {3, 0, 39, 3, 17, 8, 8, 1, 25};
  Backend& be = cpu_backend();
  Workspace ws(be, MemoryComponent::Workspace);
  const WeightOperand w =
      WeightOperand::of_dense(DType::BF16, bf16.data(), bf16.size()).with_perturbation({5, 2, -1e-3f});
  std::vector<float> want(size_t(n) * D), got(want.size());
  ops::embedding_forward(be, want.data(), tokens.data(), ops::materialize_f32(be, ws, w), n, D);
  ops::embedding_lookup(be, got.data(), tokens.data(), w, n, D);
  EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0);
}

TEST(HostPlacement, RanksAreNumberedPerHostInRankOrder) {
  const std::vector<std::string> hosts = {"a", "b", "a", "a", "b"};
  EXPECT_EQ(host_placement(hosts, 0).local_rank, 0);
  EXPECT_EQ(host_placement(hosts, 2).local_rank, 1);
  EXPECT_EQ(host_placement(hosts, 3).local_rank, 2);
  EXPECT_EQ(host_placement(hosts, 3).local_size, 3);
  EXPECT_EQ(host_placement(hosts, 4).local_rank, 1);
  EXPECT_EQ(host_placement(hosts, 4).local_size, 2);
}

}  // namespace
}  // namespace qzo
