// GoogleTest under mpirun: MPI is initialized once before any test, every rank runs every
// test (tests are collective), and only rank 0 prints progress; a failure on any rank
// makes mpirun, and so ctest, fail.
#include <gtest/gtest.h>

#include "framework/dist/mpi_communicator.h"
#include "tests/mpi/world.h"

namespace qzo::testing_mpi {

Communicator& world() {
  static std::unique_ptr<Communicator> comm = make_mpi_communicator();
  return *comm;
}

}  // namespace qzo::testing_mpi

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (qzo::testing_mpi::world().rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  return RUN_ALL_TESTS();
}
