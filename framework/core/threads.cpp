#include "framework/core/threads.h"

#include <algorithm>
#include <cblas.h>
#include <omp.h>
#include <thread>

namespace qzo {

void set_compute_threads(int n, int local_ranks) {
  if (n <= 0) n = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, local_ranks));
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int compute_threads() { return omp_get_max_threads(); }

}  // namespace qzo
