// One knob for CPU parallelism: OpenMP loops and OpenBLAS GEMMs use the same thread count.
// With OpenBLAS's OpenMP build they also share one thread pool; its pthread build keeps a
// second pool that competes with OpenMP's for the cores (set_compute_threads warns).
#pragma once

namespace qzo {

// n <= 0 picks the cores available to this process divided among the ranks on this node.
void set_compute_threads(int n, int local_ranks = 1);
int compute_threads();
// How the linked OpenBLAS runs its GEMMs: "openmp", "pthread" or "serial".
const char* blas_threading();

}  // namespace qzo
