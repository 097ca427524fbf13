// Three-vectors of doubles for the per-frame CPU kernels (the force-field energy
// and the CG denoiser): one set of helpers, so both kernels do the same
// arithmetic in the same order. Pure C++: no libtorch, no Node.
#pragma once

#include <cstdint>

namespace tcbm {
namespace vec3 {

struct Vec {
  double x, y, z;
};

// atom i of a row-major [N,3] array
inline Vec load(const double* p) { return {p[0], p[1], p[2]}; }
inline Vec at(const double* x, int64_t i) { return load(x + 3 * i); }
inline Vec operator-(Vec a, Vec b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec operator+(Vec a, Vec b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec operator*(double s, Vec a) { return {s * a.x, s * a.y, s * a.z}; }
inline Vec operator/(Vec a, double s) { return {a.x / s, a.y / s, a.z / s}; }
inline double dot(Vec a, Vec b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec cross(Vec a, Vec b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
// g[i] += v and g[i] -= v on a row-major [N,3] gradient
inline void add(double* g, int64_t i, Vec v) {
  g[3 * i] += v.x;
  g[3 * i + 1] += v.y;
  g[3 * i + 2] += v.z;
}
inline void sub(double* g, int64_t i, Vec v) {
  g[3 * i] -= v.x;
  g[3 * i + 1] -= v.y;
  g[3 * i + 2] -= v.z;
}

}  // namespace vec3
}  // namespace tcbm
