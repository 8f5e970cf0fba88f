// MPI (OpenMPI) ranks on CPUs: MPI is initialized once per process and finalized at exit.
#pragma once
#include <memory>

#include "framework/dist/communicator.h"

namespace qzo {

// True when this process was started by mpirun/srun (a world of more than one process).
bool launched_by_mpi();
// This process's rank as its launcher set it (readable before MPI starts, so error messages
// can name it); -1 outside a launcher.
int launcher_rank();
// The world communicator; initializes MPI on first use (MPI_THREAD_FUNNELED).
std::unique_ptr<Communicator> make_mpi_communicator();
// "auto" (under mpirun: NCCL when every rank computes on a GPU, else MPI; otherwise local),
// "local", "mpi" or "nccl". The choice is collective under mpirun.
std::unique_ptr<Communicator> make_communicator(const std::string& kind, bool compute_on_gpu = false);

}  // namespace qzo
