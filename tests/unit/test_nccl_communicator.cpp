// The NCCL communicator at world size 1 on a GPU machine: the step's reduction and the
// replica-guard gather round-trip through the device. Skips (never fails) without a GPU.
#include <gtest/gtest.h>

#include "framework/dist/mpi_communicator.h"
#include "kernels/device.h"

namespace qzo {
namespace {

TEST(NcclCommunicator, ReducesAndGathersAtWorldSizeOne) {
#ifndef QZO_HAVE_NCCL
  GTEST_SKIP() << "qzo was built without NCCL (nvcc or libnccl not found)";
#else
  std::string why;
  if (cuda_device_count(&why) == 0) GTEST_SKIP() << "NCCL test needs a GPU: " << why;
  auto comm = make_communicator("nccl");
  EXPECT_EQ(comm->backend(), "nccl");
  EXPECT_EQ(comm->size(), 1);
  double sums[4] = {1.5, -2.25, 16.0, 1e-300};
  comm->all_reduce_sum(sums, 4);
  EXPECT_EQ(sums[0], 1.5);
  EXPECT_EQ(sums[1], -2.25);
  EXPECT_EQ(sums[3], 1e-300);
  EXPECT_EQ(comm->bytes_reduced(), 4 * sizeof(double));
  EXPECT_EQ(comm->all_gather(0xfeedface12345678ULL), std::vector<uint64_t>{0xfeedface12345678ULL});
  EXPECT_EQ(comm->all_gather_text("host"), std::vector<std::string>{"host"});
  EXPECT_EQ(comm->broadcast_text("id", 0), "id");
#endif
}

}  // namespace
}  // namespace qzo
