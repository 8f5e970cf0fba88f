#include "framework/dist/mpi_communicator.h"

#include <cstdlib>
#include <mpi.h>

#include "framework/core/error.h"
#ifdef QZO_HAVE_NCCL
#include "framework/dist/nccl_communicator.h"
#endif

namespace qzo {

namespace {

void mpi_check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail(std::string("MPI: ") + what + " failed: " + std::string(text, static_cast<size_t>(length)));
}

// Finalizes MPI when the process ends, after every communicator is gone.
struct MpiSession {
  MpiSession() {
    int provided = 0;
    mpi_check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  }
  ~MpiSession() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
};

void ensure_mpi() { static MpiSession session; }

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    ensure_mpi();
    mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  void all_reduce_sum(double* values, int count) override {
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    bytes_reduced_ += sizeof(double) * static_cast<uint64_t>(count);
  }
  void all_reduce_sum(float* values, int count) override {
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    bytes_reduced_ += sizeof(float) * static_cast<uint64_t>(count);
  }
  std::vector<uint64_t> all_gather(uint64_t value) override {
    std::vector<uint64_t> all(static_cast<size_t>(size_));
    mpi_check(MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD), "MPI_Allgather");
    return all;
  }
  std::vector<std::string> all_gather_text(const std::string& text) override {
    const std::vector<uint64_t> lengths = all_gather(text.size());
    std::vector<int> counts(lengths.begin(), lengths.end()), offsets(lengths.size(), 0);
    for (size_t r = 1; r < counts.size(); ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
    std::string joined(static_cast<size_t>(offsets.back() + counts.back()), '\0');
    mpi_check(MPI_Allgatherv(text.data(), static_cast<int>(text.size()), MPI_CHAR, joined.data(), counts.data(),
                             offsets.data(), MPI_CHAR, MPI_COMM_WORLD),
              "MPI_Allgatherv");
    std::vector<std::string> all;
    for (size_t r = 0; r < counts.size(); ++r) all.push_back(joined.substr(offsets[r], counts[r]));
    return all;
  }

  std::string broadcast_text(const std::string& text, int root) override {
    if (root < 0 || root >= size_) fail("MPI broadcast: root rank " + std::to_string(root) + " is outside 0.." + std::to_string(size_ - 1));
    uint64_t length = text.size();
    mpi_check(MPI_Bcast(&length, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
    std::string out = rank_ == root ? text : std::string(static_cast<size_t>(length), '\0');
    mpi_check(MPI_Bcast(out.data(), static_cast<int>(length), MPI_CHAR, root, MPI_COMM_WORLD), "MPI_Bcast");
    return out;
  }

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"})
    if (const char* v = std::getenv(var); v && std::atoi(v) > 0) return true;
  return false;
}

int launcher_rank() {
  if (!launched_by_mpi()) return -1;
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return -1;
}

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<MpiCommunicator>(); }

std::unique_ptr<Communicator> make_nccl_world() {
#ifdef QZO_HAVE_NCCL
  return make_nccl_communicator(make_mpi_communicator());
#else
  fail("nccl communicator (--comm / dist.backend): qzo was built without NCCL (nvcc or libnccl was not found at configure time)");
#endif
}

std::unique_ptr<Communicator> make_communicator(const std::string& kind, bool compute_on_gpu) {
  if (kind == "local") return make_local_communicator();
  if (kind == "mpi") return make_mpi_communicator();
  if (kind == "nccl") return make_nccl_world();
  if (kind != "auto") fail("--comm '" + kind + "' is not a communicator (expected auto, local, mpi or nccl)");
  if (!launched_by_mpi()) return make_local_communicator();
  auto mpi = make_mpi_communicator();
#ifdef QZO_HAVE_NCCL
  // NCCL only when every rank computes on a GPU: NCCL reduces device memory, and one CPU
  // rank would leave the others waiting.
  double without_gpu = compute_on_gpu ? 0.0 : 1.0;
  mpi->all_reduce_sum(&without_gpu, 1);
  if (without_gpu == 0) return make_nccl_communicator(std::move(mpi));
#endif
  return mpi;
}

}  // namespace qzo
