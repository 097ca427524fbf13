// Refinement inside the rollout (`backmap --relax`, the refined frame conditioning
// the next step): each decoded step is refined before the network sees it again,
// without a return to JavaScript between steps. A frame whose refined energy is an
// outlier for its trajectory is usually entangled (rings threaded through each
// other, which no local minimisation undoes); it is refined again from the
// trajectory's previous refined frame superposed on its beads, and the lower
// energy wins.
#pragma once

#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>

#include "core/relax/relax.h"

namespace tcbm {

class TrajectoryRefiner {
 public:
  // Running mean and variance (Welford) of one trajectory's accepted refined energies.
  struct Stats {
    double n = 0, mean = 0, m2 = 0;
  };
  static_assert(sizeof(Stats) == 3 * sizeof(double), "Stats is read over a Float64Array of 3 numbers per trajectory");

  // stats [lanes]: per trajectory, updated in place (they carry over between
  // rollouts of the same trajectories); lanes [K]: the trajectory of each batch
  // row; before/after [T*K]: each step's energies, written. previous_refined:
  // the rollout's starting frames are refined frames (not a trajectory's seed).
  TrajectoryRefiner(const EnergyModel& ff, RelaxSetup setup, RelaxOptions options, Stats* stats, const int32_t* lanes,
                    int64_t rows, double* before, double* after, bool previous_refined);

  // The StepHook: frames [k,N,3] of rows first..first+k after step t, refined.
  at::Tensor operator()(const at::Tensor& frames, const at::Tensor& previous, const at::Tensor& cg, int64_t t,
                        int64_t first);

  int64_t repairs() const { return repairs_; }
  int64_t retried() const { return retried_; }

  // A refined energy above mean + kOutlierSd sd of at least kOutlierAfter accepted ones is an outlier.
  static constexpr double kOutlierSd = 6;
  static constexpr double kOutlierAfter = 10;

 private:
  const EnergyModel& ff_;
  const RelaxSetup setup_;
  const RelaxOptions options_;
  Stats* stats_;
  const int32_t* lanes_;
  const int64_t rows_;
  double *before_, *after_;
  const bool previous_refined_;
  std::atomic<int64_t> repairs_{0}, retried_{0};
};

}  // namespace tcbm
