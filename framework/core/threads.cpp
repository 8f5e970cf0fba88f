#include "framework/core/threads.h"

#include <algorithm>
#include <cblas.h>
#include <cstdio>
#include <cstring>
#include <omp.h>
#include <thread>

namespace qzo {

void set_compute_threads(int n, int local_ranks) {
  if (n <= 0) n = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, local_ranks));
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
  // Warned once: with the pthread build, n threads can be slower than 1; with the serial one
  // GEMMs stay on one thread.
  static bool warned = false;
  const char* blas = blas_threading();
  const bool pthread = std::strcmp(blas, "pthread") == 0, serial = std::strcmp(blas, "serial") == 0;
  if (n > 1 && (pthread || serial) && !warned) {
    warned = true;
    std::fprintf(stderr, "qzo: warning: OpenBLAS is its %s build, %s; install libopenblas-openmp-dev "
                 "(launch/setup.sh does) and rebuild\n", blas,
                 pthread ? "whose thread pool competes with OpenMP's for the cores" : "so GEMMs use one thread");
  }
}

int compute_threads() { return omp_get_max_threads(); }

const char* blas_threading() {
  switch (openblas_get_parallel()) {
    case 0: return "serial";
    case 1: return "pthread";
    case 2: return "openmp";
    default: return "unknown";
  }
}

}  // namespace qzo
