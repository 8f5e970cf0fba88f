#include "framework/dist/nccl_communicator.h"
#include "framework/dist/placement.h"

#include <cstring>
#include <cuda_runtime.h>
#include <nccl.h>
#include <unistd.h>

#include "framework/core/error.h"

namespace qzo {

namespace {

void cuda_check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) fail(std::string("NCCL communicator: ") + what + ": " + cudaGetErrorString(status));
}

void nccl_check(ncclResult_t status, const char* what) {
  if (status != ncclSuccess) fail(std::string("NCCL: ") + what + " failed: " + ncclGetErrorString(status));
}

// This rank's index among the ranks on its own host, from the host names of all ranks.
int local_rank(Communicator& host) {
  return host_placement(host.all_gather_text(this_host_name()), host.rank()).local_rank;
}

class NcclCommunicator final : public Communicator {
 public:
  explicit NcclCommunicator(std::unique_ptr<Communicator> host) : host_(std::move(host)) {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
      cudaGetLastError();
      fail("nccl communicator (--comm / dist.backend): rank " + std::to_string(host_->rank()) + " on " + this_host_name() +
           " sees no CUDA device (use mpi for CPU ranks)");
    }
    device_ = local_rank(*host_) % devices;
    cuda_check(cudaSetDevice(device_), "cudaSetDevice");
    // Rank 0 makes the unique id; the host communicator (MPI_Bcast) hands it to every rank.
    ncclUniqueId id;
    std::string mine;
    if (host_->rank() == 0) {
      nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
      mine.assign(reinterpret_cast<const char*>(&id), sizeof id);
    }
    const std::string root_id = host_->broadcast_text(mine, 0);
    if (root_id.size() != sizeof id) fail("NCCL: the unique id from rank 0 has the wrong size");
    std::memcpy(&id, root_id.data(), sizeof id);
    nccl_check(ncclCommInitRank(&comm_, host_->size(), id, host_->rank()), "ncclCommInitRank");
    cuda_check(cudaStreamCreate(&stream_), "cudaStreamCreate");
  }
  ~NcclCommunicator() override {
    if (buffer_) cudaFree(buffer_);
    if (stream_) cudaStreamDestroy(stream_);
    if (comm_) ncclCommDestroy(comm_);
  }
  int rank() const override { return host_->rank(); }
  int size() const override { return host_->size(); }
  std::string backend() const override { return "nccl"; }

  void all_reduce_sum(double* values, int count) override { reduce_host(values, count, ncclDouble); }
  // Gradients of the backprop methods live in host memory (their backward runs on the CPU).
  void all_reduce_sum(float* values, int count) override { reduce_host(values, count, ncclFloat); }

  std::vector<uint64_t> all_gather(uint64_t value) override {
    std::vector<uint64_t> all(static_cast<size_t>(size()));
    auto* device = static_cast<uint64_t*>(reserve(sizeof(uint64_t) * (all.size() + 1)));
    cuda_check(cudaMemcpyAsync(device, &value, sizeof value, cudaMemcpyHostToDevice, stream_), "copy to device");
    nccl_check(ncclAllGather(device, device + 1, 1, ncclUint64, comm_, stream_), "ncclAllGather");
    cuda_check(cudaMemcpyAsync(all.data(), device + 1, sizeof(uint64_t) * all.size(), cudaMemcpyDeviceToHost, stream_),
               "copy to host");
    cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    return all;
  }

  std::vector<std::string> all_gather_text(const std::string& text) override { return host_->all_gather_text(text); }
  std::string broadcast_text(const std::string& text, int root) override { return host_->broadcast_text(text, root); }

 private:
  template <typename T>
  void reduce_host(T* values, int count, ncclDataType_t type) {
    const size_t bytes = sizeof(T) * static_cast<size_t>(count);
    void* device = reserve(bytes);
    cuda_check(cudaMemcpyAsync(device, values, bytes, cudaMemcpyHostToDevice, stream_), "copy to device");
    nccl_check(ncclAllReduce(device, device, static_cast<size_t>(count), type, ncclSum, comm_, stream_),
               "ncclAllReduce");
    cuda_check(cudaMemcpyAsync(values, device, bytes, cudaMemcpyDeviceToHost, stream_), "copy to host");
    cuda_check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    bytes_reduced_ += bytes;
  }

  void* reserve(size_t bytes) {
    if (bytes > capacity_) {
      if (buffer_) cudaFree(buffer_);
      buffer_ = nullptr;
      cuda_check(cudaMalloc(&buffer_, bytes), "cudaMalloc");
      capacity_ = bytes;
    }
    return buffer_;
  }

  std::unique_ptr<Communicator> host_;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* buffer_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> host) {
  return std::make_unique<NcclCommunicator>(std::move(host));
}

}  // namespace qzo
