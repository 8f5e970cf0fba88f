// The trainer's side of a ZO step: the estimator's local sums, one all-reduce, and the
// identical update on every rank. Methods never see the communicator; this is where the
// bytes per step (8·(3n+1)) cross the wire.
#pragma once
#include "framework/dist/communicator.h"
#include "framework/methods/zo_step.h"

namespace qzo {

ZoStepResult zo_step(ZoParameters& params, const Objective& objective, uint64_t run_seed, int64_t step, double lr,
                     const ZoOptions& options, Communicator& comm);

}  // namespace qzo
