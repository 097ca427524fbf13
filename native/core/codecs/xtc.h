// GROMACS XTC frames <-> float32 coordinates (nm), bit-exact with xdrfile's
// xdr3dfcoord compression as GROMACS and mdtraj ship it. Plain C++17, no Node, no libtorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace tcbm::xtc {

constexpr int32_t kMagic = 1995;
// Bytes of a compressed frame before its compressed payload: magic, natoms, step,
// time, box[9], natoms again, precision, minint[3], maxint[3], smallidx, byte count.
constexpr size_t kHeaderBytes = 92;

// Malformed or truncated frame data; the message starts with "frame <k>: " (k within the batch).
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Where decoded frames go: coords [frames, atoms, 3], boxes [frames, 9], times/steps [frames].
struct DecodeOutput {
  float* coords;
  float* boxes;
  float* times;
  int32_t* steps;
};

// Decodes `frames` frames of `atoms` atoms; frame k starts at data[offsets[k]] and must end
// by offsets[k + 1] (or `size` for the last one). Reads nothing outside [0, size). Throws
// FormatError on any inconsistency. Frames are split over up to `threads` std::threads.
void decode_frames(const uint8_t* data, size_t size, const int64_t* offsets, int64_t frames, int64_t atoms,
                   const DecodeOutput& out, int threads);

// Frames to encode: coords [frames, atoms, 3]; boxes [frames, 9], times, steps may be null
// (zeros, frame index, frame index).
struct EncodeInput {
  const float* coords;
  const float* boxes;
  const float* times;
  const int32_t* steps;
};

// Upper bound of one encoded frame's size in bytes.
size_t frame_bound(int64_t atoms);

// Encodes frames into out (capacity >= frames * frame_bound(atoms)); returns the bytes
// written. Throws std::range_error naming the frame when coordinates overflow the precision
// or are not finite.
size_t encode_frames(const EncodeInput& in, int64_t frames, int64_t atoms, float precision, uint8_t* out,
                     size_t capacity, int threads);

}  // namespace tcbm::xtc
