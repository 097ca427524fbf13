#include "core/relax/refine.h"

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <utility>
#include <vector>

#include "core/model/model.h"

namespace tcbm {

TrajectoryRefiner::TrajectoryRefiner(const EnergyModel& ff, RelaxSetup setup, RelaxOptions options, Stats* stats,
                                     const int32_t* lanes, int64_t rows, double* before, double* after,
                                     bool previous_refined)
    : ff_(ff), setup_(std::move(setup)), options_(options), stats_(stats), lanes_(lanes), rows_(rows), before_(before),
      after_(after), previous_refined_(previous_refined) {}

at::Tensor TrajectoryRefiner::operator()(const at::Tensor& frames, const at::Tensor& previous, const at::Tensor& cg,
                                         int64_t t, int64_t first) {
  // The rollout runs in inference mode; the refinement's tensor path needs autograd.
  c10::InferenceMode normal_tensors(false);
  const auto x = frames.to(at::kCPU, at::kFloat).clone();
  const auto c = cg.to(at::kCPU, at::kFloat).clone();
  RelaxOptions o = options_;
  o.seed = options_.seed + static_cast<uint64_t>(t);  // one stream per step (frames within it by row)
  auto r = relax(ff_, setup_, x, c, o);
  const int64_t k = x.size(0);
  auto coords = r.coords.contiguous();
  auto after = r.energy_after.to(at::kDouble).contiguous();
  double* e = after.data_ptr<double>();

  // outliers: the trajectory's previous refined frame, superposed on these beads, refined again
  std::vector<int64_t> bad;
  if (t > 0 || previous_refined_) {
    for (int64_t f = 0; f < k; ++f) {
      const Stats& s = stats_[lanes_[first + f]];
      const double sd = std::sqrt(s.m2 / std::max(1.0, s.n - 1));
      if (s.n >= kOutlierAfter && e[f] > s.mean + kOutlierSd * sd) bad.push_back(f);
    }
  }
  if (!bad.empty()) {
    const auto index = at::tensor(bad, at::kLong);
    const auto prev = previous.to(at::kCPU, at::kFloat).index_select(0, index);  // [b,N,3]
    const auto beads = c.index_select(0, index);                                   // [b,n,3]
    const auto mapped = at::matmul(setup_.mapping.to(at::kFloat), prev);           // [b,n,3]
    const auto from = mapped.mean(1, true), to = beads.mean(1, true);
    const auto rot = kabsch_rotations(mapped - from, (beads - to).to(at::kDouble));  // x R^T onto the beads
    const auto start = at::matmul(prev - from, rot.transpose(-1, -2)) + to;
    RelaxOptions again = o;
    again.seed = o.seed ^ 0xD1B54A32D192ED03ULL;  // another stream than the first attempt's
    auto r2 = relax(ff_, setup_, start, beads, again);
    const auto e2 = r2.energy_after.to(at::kDouble).contiguous();
    for (size_t j = 0; j < bad.size(); ++j) {
      const int64_t f = bad[j];
      if (e2.data_ptr<double>()[j] < e[f]) {
        coords[f].copy_(r2.coords[j]);
        e[f] = e2.data_ptr<double>()[j];
      }
    }
    retried_ += static_cast<int64_t>(bad.size());
  }
  repairs_ += r.repairs;

  const auto before = r.energy_before.to(at::kDouble).contiguous();
  for (int64_t f = 0; f < k; ++f) {
    before_[t * rows_ + first + f] = before.data_ptr<double>()[f];
    after_[t * rows_ + first + f] = e[f];
    if (!std::isfinite(e[f])) continue;
    Stats& s = stats_[lanes_[first + f]];
    s.n += 1;
    const double d = e[f] - s.mean;
    s.mean += d / s.n;
    s.m2 += d * (e[f] - s.mean);
  }
  return coords.to(frames.device(), frames.scalar_type());
}

}  // namespace tcbm
