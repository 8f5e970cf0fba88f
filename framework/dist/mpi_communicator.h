// MPI (OpenMPI) ranks on CPUs: MPI is initialized once per process and finalized at exit.
#pragma once
#include <memory>

#include "framework/dist/communicator.h"

namespace qzo {

// True when this process was started by mpirun/srun (a world of more than one process).
bool launched_by_mpi();
// The world communicator; initializes MPI on first use (MPI_THREAD_FUNNELED).
std::unique_ptr<Communicator> make_mpi_communicator();
// "auto" (MPI when launched by mpirun, else local), "local" or "mpi".
std::unique_ptr<Communicator> make_communicator(const std::string& kind);

}  // namespace qzo
