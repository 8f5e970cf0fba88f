// The MPI world every MPI test shares (initialized by mpi_main.cpp).
#pragma once
#include "framework/dist/communicator.h"

namespace qzo::testing_mpi {

Communicator& world();

}  // namespace qzo::testing_mpi
