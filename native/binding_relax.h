// The refinement's inputs as relax() and a refining rollout read them from JS.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "binding_util.h"
#include "core/relax/refine.h"
#include "core/relax/relax.h"

namespace tcbm::binding {

struct RelaxInput {
  std::shared_ptr<EnergyModel> ff;  // kept alive by the job that holds this
  RelaxSetup setup;                 // every tensor a copy of the JS arrays
  RelaxOptions options;
};

// {forceField, beads, mapping [n*N], chiral Int32Array [C*4], chiralSign [C],
//  reflect Int32Array [C*N], projection? [N*n], frozen? Int32Array [N], masses? [N],
//  constraints? Int32Array [K*2], constraintLength? [K], steps?, restraint?,
//  cgRestraint?, softFraction?, maxMove?, dielectric?, temperature?,
//  thermalSteps?, timestep? (fs), seed?, impl?}
RelaxInput relax_input(const Options& o, const Napi::Object& obj, const std::string& op);

// What a job that refines T steps of K trajectories (rolloutRefined,
// refineTrajectory) shares: relax's options plus lanes Int32Array [K] (each
// row's trajectory, one row a lane), stats Float64Array [trajectories*3] (each trajectory's
// refined-energy count, mean and M2, updated in place) and previousRefined?;
// its result {coords, before [T*K], after [T*K], repairs, retried}.
struct RefineState {
  std::shared_ptr<RelaxInput> input;
  at::Tensor lanes;                 // [K] int32
  TrajectoryRefiner::Stats* stats;  // in the JS array, which the job keeps
  bool previous_refined;
  int64_t rows;
  double *before, *after;  // in the result's arrays
  std::shared_ptr<Napi::ObjectReference> result;
  std::shared_ptr<std::pair<int64_t, int64_t>> counts;  // repairs, retried
  std::vector<Napi::Object> keep;                       // for the job: the options object and stats

  std::unique_ptr<TrajectoryRefiner> refiner() const;
  // Called at the job's end on the worker: the counts of `refiner`.
  void finish(const TrajectoryRefiner& refiner) const { *counts = {refiner.repairs(), refiner.retried()}; }
  // The job's result builder.
  std::function<Napi::Value(Napi::Env)> builder() const;
};

// obj: the options object; coords: the result's [T,K,N,3] array (made by the caller).
RefineState refine_state(const Options& o, const Napi::Object& obj, const std::string& op, int64_t T, int64_t K,
                         int64_t atoms, const Napi::TypedArray& coords);

}  // namespace tcbm::binding
