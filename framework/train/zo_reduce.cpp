#include "framework/train/zo_reduce.h"

namespace qzo {

ZoStepResult zo_step(ZoParameters& params, const Objective& objective, uint64_t run_seed, int64_t step, double lr,
                     const ZoOptions& options, Communicator& comm) {
  ZoLocalSums sums = zo_evaluate(params, objective, run_seed, step, options, {comm.rank(), comm.size()});
  comm.all_reduce_sum(sums.sums.data(), static_cast<int>(sums.sums.size()));
  return zo_apply(params, sums, run_seed, step, lr, options);
}

}  // namespace qzo
