#include "core/kernels/cgdenoise.h"
#include "core/kernels/vec3.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tcbm {
namespace {

using namespace vec3;

struct Terms {
  std::vector<int64_t> bonds, angles, volumes;
  std::vector<double> bond_ms, angle_ms, volume_ms;
};

template <typename T>
std::vector<T> flat(const at::Tensor& t, at::ScalarType type) {
  auto c = t.to(at::kCPU, type).contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

// one frame x [n*3] from y, in place
void descend(double* x, const float* y, int64_t n, const Terms& p, double sigma, double step, int64_t iterations) {
  std::vector<double> g(3 * n), v(3 * n, 0.0);
  const double inv_s2 = 1.0 / (sigma * sigma);
  for (int64_t it = 0; it < iterations; ++it) {
    for (int64_t i = 0; i < 3 * n; ++i) g[i] = (x[i] - y[i]) * inv_s2;
    for (size_t b = 0; b < p.bonds.size() / 2; ++b) {
      const int64_t i = p.bonds[2 * b], j = p.bonds[2 * b + 1];
      const Vec d = at(x, j) - at(x, i);
      const double l = std::max(std::sqrt(dot(d, d)), 1e-9);
      const double sd = p.bond_ms[2 * b + 1];
      const double c = (l - p.bond_ms[2 * b]) / (sd * sd) / l;
      add(g.data(), j, c * d);
      sub(g.data(), i, c * d);
    }
    for (size_t a = 0; a < p.angles.size() / 3; ++a) {
      const int64_t i = p.angles[3 * a], j = p.angles[3 * a + 1], k3 = p.angles[3 * a + 2];
      const Vec xj = at(x, j), u = at(x, i) - xj, w = at(x, k3) - xj;
      const double lu = std::max(std::sqrt(dot(u, u)), 1e-9), lw = std::max(std::sqrt(dot(w, w)), 1e-9);
      const double cos = std::clamp(dot(u, w) / (lu * lw), -1.0, 1.0);
      const double sin = std::max(std::sqrt(1 - cos * cos), 1e-3);
      const double sd = p.angle_ms[2 * a + 1];
      const double c = -((std::acos(cos) - p.angle_ms[2 * a]) / (sd * sd)) / sin;  // dE/dtheta * dtheta/dcos
      const Vec du = (w / lw - (cos * u) / lu) / lu, dw = (u / lu - (cos * w) / lw) / lw;
      add(g.data(), i, c * du);
      add(g.data(), k3, c * dw);
      sub(g.data(), j, c * (du + dw));
    }
    for (size_t q = 0; q < p.volumes.size() / 4; ++q) {
      const int64_t i = p.volumes[4 * q], j = p.volumes[4 * q + 1], k3 = p.volumes[4 * q + 2], l = p.volumes[4 * q + 3];
      const Vec xj = at(x, j), a = at(x, i) - xj, b = at(x, k3) - xj, d = at(x, l) - xj;
      const double sd = p.volume_ms[2 * q + 1];
      const double c = (dot(a, cross(b, d)) - p.volume_ms[2 * q]) / (sd * sd);
      const Vec ga = cross(b, d), gb = cross(d, a), gd = cross(a, b);
      add(g.data(), i, c * ga);
      add(g.data(), k3, c * gb);
      add(g.data(), l, c * gd);
      sub(g.data(), j, c * (ga + gb + gd));
    }
    for (int64_t i = 0; i < 3 * n; ++i) {
      v[i] = 0.9 * v[i] - step * g[i];
      x[i] += v[i];
    }
  }
}

}  // namespace

void denoise_cg(at::Tensor& frames, const CgPriorTerms& prior, double sigma, int64_t iterations) {
  TORCH_CHECK(frames.device().is_cpu() && frames.scalar_type() == at::kFloat && frames.is_contiguous() && frames.dim() == 3 &&
                  frames.size(2) == 3,
              "denoise_cg: expected contiguous float32 CPU frames [F,n,3]");
  if (!(sigma > 0) || frames.size(0) == 0) return;
  const int64_t F = frames.size(0), n = frames.size(1);
  Terms p{flat<int64_t>(prior.bonds, at::kLong),  flat<int64_t>(prior.angles, at::kLong), flat<int64_t>(prior.volumes, at::kLong),
          flat<double>(prior.bond_ms, at::kDouble), flat<double>(prior.angle_ms, at::kDouble), flat<double>(prior.volume_ms, at::kDouble)};
  for (auto idx : {&p.bonds, &p.angles, &p.volumes})
    for (auto i : *idx) TORCH_CHECK(i >= 0 && i < n, "denoise_cg: prior names bead ", i, " of ", n);
  for (auto ms : {&p.bond_ms, &p.angle_ms, &p.volume_ms})
    for (size_t i = 1; i < ms->size(); i += 2) TORCH_CHECK((*ms)[i] > 0 && std::isfinite((*ms)[i]), "denoise_cg: a prior std must be > 0");
  // the stiffest curvature bounds the step: bonds 2/s^2 (two beads), angles ~4/(s l)^2, volumes ~4 l^4/s^2, the data 1/sigma^2
  double length = 0;
  for (size_t b = 0; b < p.bond_ms.size(); b += 2) length += p.bond_ms[b];
  length = p.bond_ms.empty() ? 0.15 : length / double(p.bond_ms.size() / 2);
  double stiffest = 1 / (sigma * sigma);
  for (size_t b = 1; b < p.bond_ms.size(); b += 2) stiffest = std::max(stiffest, 2 / (p.bond_ms[b] * p.bond_ms[b]));
  for (size_t a = 1; a < p.angle_ms.size(); a += 2) stiffest = std::max(stiffest, 4 / std::pow(p.angle_ms[a] * length, 2));
  for (size_t q = 1; q < p.volume_ms.size(); q += 2) stiffest = std::max(stiffest, 4 * std::pow(length, 4) / std::pow(p.volume_ms[q], 2));
  const double step = 0.5 / stiffest;
  float* data = frames.data_ptr<float>();
  at::parallel_for(0, F, 16, [&](int64_t f0, int64_t f1) {
    std::vector<double> x(3 * n);
    for (int64_t f = f0; f < f1; ++f) {
      float* y = data + f * n * 3;
      for (int64_t i = 0; i < 3 * n; ++i) x[i] = y[i];
      descend(x.data(), y, n, p, sigma, step, iterations);
      for (int64_t i = 0; i < 3 * n; ++i) y[i] = static_cast<float>(x[i]);
    }
  });
}

}  // namespace tcbm
