// One knob for CPU parallelism: OpenMP loops and OpenBLAS GEMMs use the same thread count.
#pragma once

namespace qzo {

// n <= 0 picks the cores available to this process divided among the ranks on this node.
void set_compute_threads(int n, int local_ranks = 1);
int compute_threads();

}  // namespace qzo
