// XTC coordinate compression, ported from xdrfile.c (xdrfile_compress_coord_float /
// xdrfile_decompress_coord_float), Copyright (c) 2009-2014 Erik Lindahl & David van der
// Spoel, BSD 2-clause; the algorithm is Frans van Hoesel's xdr3dfcoord from GROMACS.
// The arithmetic follows the original step by step (float scaling, 32-bit wrapping int
// maths, magicints table, run-length and water swap) so that bytes and floats match
// mdtraj/GROMACS exactly; unlike the original, every read is bounds-checked.
#include "core/codecs/xtc.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace tcbm::xtc {
namespace {

constexpr int kMagicInts[] = {
    0,       0,       0,       0,       0,       0,        0,        0,        0,        8,        10,
    12,      16,      20,      25,      32,      40,       50,       64,       80,       101,      128,
    161,     203,     256,     322,     406,     512,      645,      812,      1024,     1290,     1625,
    2048,    2580,    3250,    4096,    5060,    6501,     8192,     10321,    13003,    16384,    20642,
    26007,   32768,   41285,   52015,   65536,   82570,    104031,   131072,   165140,   208063,   262144,
    330280,  416127,  524287,  660561,  832255,  1048576,  1321122,  1664510,  2097152,  2642245,  3329021,
    4194304, 5284491, 6658042, 8388607, 10568983, 13316085, 16777216};
constexpr int kFirstIdx = 9;  // kMagicInts[kFirstIdx - 1] == 0
constexpr int kLastIdx = static_cast<int>(sizeof(kMagicInts) / sizeof(kMagicInts[0]));
static_assert(kLastIdx == 73, "xdrfile's magicints table has 73 entries");

// xdrfile does its integer maths in 32-bit int and relies on two's-complement wrap-around;
// these reproduce that without undefined behaviour.
inline int32_t wadd(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b)); }
inline int32_t wsub(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b)); }
inline int32_t wmul(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b)); }
inline int32_t wabs(int32_t a) { return a < 0 ? static_cast<int32_t>(0u - static_cast<uint32_t>(a)) : a; }

inline uint32_t load_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// sizeofint: bits needed for values in [0, size).
int sizeofint(uint32_t size) {
  uint64_t num = 1;
  int bits = 0;
  while (size >= num && bits < 32) {
    ++bits;
    num <<= 1;
  }
  return bits;
}

// bytes (a little-endian base-256 number of n digits) = bytes * factor + carry; returns the new digit count.
unsigned multiply_add(uint32_t* bytes, unsigned n, uint32_t factor, uint32_t carry) {
  uint32_t tmp = carry;
  unsigned bc;
  for (bc = 0; bc < n; ++bc) {
    tmp = bytes[bc] * factor + tmp;
    bytes[bc] = tmp & 0xff;
    tmp >>= 8;
  }
  while (tmp != 0) {
    bytes[bc++] = tmp & 0xff;
    tmp >>= 8;
  }
  return bc;
}

// sizeofints: bits needed for the mixed-radix number with digits below sizes[0..2].
int sizeofints(const uint32_t sizes[3]) {
  uint32_t bytes[32];
  unsigned nbytes = 1, bits = 0;
  bytes[0] = 1;
  for (int i = 0; i < 3; ++i) nbytes = multiply_add(bytes, nbytes, sizes[i], 0);
  uint32_t num = 1;
  --nbytes;
  while (bytes[nbytes] >= num) {
    ++bits;
    num *= 2;
  }
  return static_cast<int>(bits + nbytes * 8);
}

// MSB-first bit stream over the compressed payload (xdrfile's receivebits), bounds-checked.
class BitReader {
 public:
  BitReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  uint32_t bits(int k) {  // 0 <= k <= 32
    while (have_ < k) {
      if (pos_ >= n_) throw FormatError("compressed coordinates end early (corrupt data)");
      acc_ = (acc_ << 8) | p_[pos_++];
      have_ += 8;
    }
    have_ -= k;
    return static_cast<uint32_t>((acc_ >> have_) & ((uint64_t(1) << k) - 1));
  }

 private:
  const uint8_t* p_;
  size_t n_, pos_ = 0;
  uint64_t acc_ = 0;
  int have_ = 0;
};

// MSB-first bit sink (xdrfile's sendbits); the final partial byte is zero-padded.
class BitWriter {
 public:
  BitWriter(uint8_t* p, size_t cap) : p_(p), cap_(cap) {}
  void put(int k, uint32_t v) {  // 0 <= k <= 32, v < 2^k
    acc_ = (acc_ << k) | v;
    have_ += k;
    while (have_ >= 8) {
      have_ -= 8;
      if (pos_ >= cap_) throw std::logic_error("xtc: encoder output bound exceeded");
      p_[pos_++] = uint8_t(acc_ >> have_);
    }
  }
  size_t finish() {
    if (have_ > 0) {
      if (pos_ >= cap_) throw std::logic_error("xtc: encoder output bound exceeded");
      p_[pos_++] = uint8_t(acc_ << (8 - have_));
      have_ = 0;
    }
    return pos_;
  }

 private:
  uint8_t* p_;
  size_t cap_, pos_ = 0;
  uint64_t acc_ = 0;
  int have_ = 0;
};

// receiveints: three digits below sizes[] packed into `bits` bits, least significant byte first.
inline void decodeints(BitReader& br, int bits, const uint32_t sizes[3], int32_t nums[3]) {
  if (bits <= 64) {
    // The packed number fits in 64 bits: the same quotients and remainders as xdrfile's bytewise long division.
    uint64_t n = 0;
    int shift = 0;
    for (; bits > 8; bits -= 8, shift += 8) n |= uint64_t(br.bits(8)) << shift;
    if (bits > 0) n |= uint64_t(br.bits(bits)) << shift;
    nums[2] = static_cast<int32_t>(n % sizes[2]);
    n /= sizes[2];
    nums[1] = static_cast<int32_t>(n % sizes[1]);
    n /= sizes[1];
    nums[0] = static_cast<int32_t>(static_cast<uint32_t>(n));
    return;
  }
  uint32_t bytes[32] = {0};
  int nb = 0;
  while (bits > 8) {
    bytes[nb++] = br.bits(8);
    bits -= 8;
  }
  if (bits > 0) bytes[nb++] = br.bits(bits);
  for (int i = 2; i > 0; --i) {
    uint32_t num = 0;
    for (int j = nb - 1; j >= 0; --j) {
      num = (num << 8) | bytes[j];
      const uint32_t p = num / sizes[i];
      bytes[j] = p;
      num -= p * sizes[i];
    }
    nums[i] = static_cast<int32_t>(num);
  }
  nums[0] = static_cast<int32_t>(bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24));
}

// sendints: the inverse of decodeints.
inline void encodeints(BitWriter& bw, int bits, const uint32_t sizes[3], const uint32_t nums[3]) {
  uint32_t bytes[32] = {0};
  if (bits <= 64) {
    uint64_t n = (uint64_t(nums[0]) * sizes[1] + nums[1]) * sizes[2] + nums[2];
    for (int j = 0; j < 8; ++j) bytes[j] = uint32_t(n >> (8 * j)) & 0xff;
  } else {
    int nb = 0;
    uint32_t tmp = nums[0];
    do {
      bytes[nb++] = tmp & 0xff;
      tmp >>= 8;
    } while (tmp != 0);
    for (int i = 1; i < 3; ++i) nb = static_cast<int>(multiply_add(bytes, static_cast<unsigned>(nb), sizes[i], nums[i]));
  }
  // xdrfile writes the number's bytes and zero-fills up to `bits`; as a bit stream that is
  // exactly bits/8 whole bytes and then the low bits%8 bits of the next byte.
  int j = 0;
  for (; bits >= 8; bits -= 8) bw.put(8, bytes[j++]);
  if (bits > 0) bw.put(bits, bytes[j] & ((1u << bits) - 1));
}

struct ByteReader {
  const uint8_t* p;
  size_t n;
  size_t pos = 0;
  uint32_t u32() {
    if (n - pos < 4) throw FormatError("frame data ends inside the frame");
    const uint32_t v = load_be32(p + pos);
    pos += 4;
    return v;
  }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  float f32() { return bits_to_float(u32()); }
};

void decode_frame(const uint8_t* data, size_t size, int64_t atoms, float* xyz, float* box, float* time,
                  int32_t* step) {
  ByteReader r{data, size};
  const int32_t magic = r.i32();
  if (magic != kMagic) throw FormatError("bad magic number " + std::to_string(magic) + ", not an XTC frame");
  const int32_t natoms = r.i32();
  if (natoms != atoms)
    throw FormatError("has " + std::to_string(natoms) + " atoms, expected " + std::to_string(atoms));
  *step = r.i32();
  *time = r.f32();
  for (int k = 0; k < 9; ++k) box[k] = r.f32();
  const int32_t lsize = r.i32();
  if (lsize != natoms)
    throw FormatError("coordinate count " + std::to_string(lsize) + " differs from the header's " +
                      std::to_string(natoms) + " atoms");
  // Nine atoms or fewer are stored as plain floats (xdrfile's rule).
  if (natoms <= 9) {
    for (int64_t k = 0; k < 3 * int64_t(natoms); ++k) xyz[k] = r.f32();
    return;
  }
  const float precision = r.f32();
  if (!(precision > 0) || !std::isfinite(precision))
    throw FormatError("precision " + std::to_string(precision) + " is not a positive number");
  int32_t minint[3], maxint[3];
  for (auto& v : minint) v = r.i32();
  for (auto& v : maxint) v = r.i32();
  uint32_t sizeint[3];
  for (int d = 0; d < 3; ++d) {
    if (maxint[d] < minint[d]) throw FormatError("coordinate range maxint < minint (corrupt data)");
    sizeint[d] = static_cast<uint32_t>(maxint[d]) - static_cast<uint32_t>(minint[d]) + 1u;
    if (sizeint[d] == 0) throw FormatError("coordinate range spans 2^32 (corrupt data)");
  }
  int bitsizeint[3] = {0, 0, 0};
  int bitsize;
  if ((sizeint[0] | sizeint[1] | sizeint[2]) > 0xffffff) {
    for (int d = 0; d < 3; ++d) bitsizeint[d] = sizeofint(sizeint[d]);
    bitsize = 0;  // large ranges: each coordinate on its own bit width
  } else {
    bitsize = sizeofints(sizeint);
  }
  int smallidx = r.i32();
  if (smallidx < kFirstIdx || smallidx >= kLastIdx)
    throw FormatError("compression index " + std::to_string(smallidx) + " outside the table (corrupt data)");
  int smaller = kMagicInts[std::max(kFirstIdx, smallidx - 1)] / 2;
  int smallnum = kMagicInts[smallidx] / 2;
  uint32_t sizesmall[3];
  sizesmall[0] = sizesmall[1] = sizesmall[2] = static_cast<uint32_t>(kMagicInts[smallidx]);

  const uint32_t nbytes = r.u32();
  const size_t padded = (size_t(nbytes) + 3) & ~size_t(3);
  if (padded > size - r.pos)
    throw FormatError("compressed coordinates need " + std::to_string(nbytes) + " bytes, the frame has " +
                      std::to_string(size - r.pos));
  BitReader br(data + r.pos, nbytes);

  // xdrfile computes 1/precision in double and multiplies in float; so do we, for identical floats.
  const float inv_precision = static_cast<float>(1.0 / static_cast<double>(precision));
  float* out = xyz;
  auto emit = [&](const int32_t c[3]) {
    *out++ = static_cast<float>(c[0]) * inv_precision;
    *out++ = static_cast<float>(c[1]) * inv_precision;
    *out++ = static_cast<float>(c[2]) * inv_precision;
  };
  int32_t prev[3], cur[3];
  int run = 0;
  int64_t i = 0;
  while (i < natoms) {
    if (bitsize == 0) {
      for (int d = 0; d < 3; ++d) cur[d] = static_cast<int32_t>(br.bits(bitsizeint[d]));
    } else {
      decodeints(br, bitsize, sizeint, cur);
    }
    ++i;
    for (int d = 0; d < 3; ++d) cur[d] = wadd(cur[d], minint[d]);
    prev[0] = cur[0], prev[1] = cur[1], prev[2] = cur[2];

    int is_smaller = 0;
    if (br.bits(1) == 1) {
      run = static_cast<int>(br.bits(5));
      is_smaller = run % 3;
      run -= is_smaller;
      --is_smaller;
    }
    if (run > 0) {
      if (i + run / 3 > natoms) throw FormatError("a run of small coordinates overruns the atom count (corrupt data)");
      for (int k = 0; k < run; k += 3) {
        int32_t t[3];
        decodeints(br, smallidx, sizesmall, t);
        ++i;
        for (int d = 0; d < 3; ++d) t[d] = wadd(t[d], wsub(prev[d], smallnum));
        if (k == 0) {
          // The encoder swapped the first two atoms of a run (water: O after H) to compress better.
          std::swap(t[0], prev[0]);
          std::swap(t[1], prev[1]);
          std::swap(t[2], prev[2]);
          emit(prev);
        } else {
          prev[0] = t[0], prev[1] = t[1], prev[2] = t[2];
        }
        emit(t);
      }
    } else {
      emit(cur);
    }
    smallidx += is_smaller;
    if (smallidx < kFirstIdx || smallidx >= kLastIdx)
      throw FormatError("compression index left the table (corrupt data)");
    if (is_smaller < 0) {
      smallnum = smaller;
      smaller = smallidx > kFirstIdx ? kMagicInts[smallidx - 1] / 2 : 0;
    } else if (is_smaller > 0) {
      smaller = smallnum;
      smallnum = kMagicInts[smallidx] / 2;
    }
    sizesmall[0] = sizesmall[1] = sizesmall[2] = static_cast<uint32_t>(kMagicInts[smallidx]);
  }
}

struct ByteWriter {
  uint8_t* p;
  size_t cap;
  size_t pos = 0;
  void u32(uint32_t v) {
    if (cap - pos < 4) throw std::logic_error("xtc: encoder output bound exceeded");
    store_be32(p + pos, v);
    pos += 4;
  }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void f32(float v) { u32(float_to_bits(v)); }
};

std::string where(int64_t frame, int64_t atom) {
  return "frame " + std::to_string(frame) + ": atom " + std::to_string(atom) + ": ";
}

size_t encode_frame(const float* x, int64_t natoms64, float precision, const float* box, float time, int32_t step,
                    uint8_t* out, size_t cap, std::vector<int32_t>& ints, int64_t frame) {
  const int32_t natoms = static_cast<int32_t>(natoms64);
  ByteWriter w{out, cap};
  w.i32(kMagic);
  w.i32(natoms);
  w.i32(step);
  w.f32(time);
  for (int k = 0; k < 9; ++k) w.f32(box ? box[k] : 0.0f);
  w.i32(natoms);
  if (natoms <= 9) {
    for (int64_t k = 0; k < 3 * natoms64; ++k) {
      if (!std::isfinite(x[k])) throw std::range_error(where(frame, k / 3) + "coordinate is not finite");
      w.f32(x[k]);
    }
    return w.pos;
  }
  w.f32(precision);

  ints.resize(size_t(3) * size_t(natoms));
  int32_t minint[3] = {INT_MAX, INT_MAX, INT_MAX}, maxint[3] = {INT_MIN, INT_MIN, INT_MIN};
  int32_t mindiff = INT_MAX, old[3] = {0, 0, 0};
  for (int64_t a = 0; a < natoms; ++a) {
    int32_t l[3];
    for (int d = 0; d < 3; ++d) {
      const float v = x[3 * a + d];
      if (!std::isfinite(v)) throw std::range_error(where(frame, a) + "coordinate is not finite");
      // Exactly xdrfile's rounding: float product, then +-0.5 in double, stored to float, truncated.
      const float scaled = v * precision;
      const float lf = v >= 0.0f ? static_cast<float>(double(scaled) + 0.5) : static_cast<float>(double(scaled) - 0.5);
      if (std::fabs(double(lf)) > double(INT_MAX - 2))
        throw std::range_error(where(frame, a) + "coordinate " + std::to_string(v) +
                               " nm is too large for XTC precision " + std::to_string(precision));
      l[d] = static_cast<int32_t>(lf);
      minint[d] = std::min(minint[d], l[d]);
      maxint[d] = std::max(maxint[d], l[d]);
      ints[3 * a + d] = l[d];
    }
    const int32_t diff = wadd(wadd(wabs(wsub(old[0], l[0])), wabs(wsub(old[1], l[1]))), wabs(wsub(old[2], l[2])));
    if (diff < mindiff && a >= 1) mindiff = diff;
    old[0] = l[0], old[1] = l[1], old[2] = l[2];
  }
  for (int d = 0; d < 3; ++d) w.i32(minint[d]);
  for (int d = 0; d < 3; ++d) w.i32(maxint[d]);
  for (int d = 0; d < 3; ++d) {
    if (static_cast<float>(maxint[d]) - static_cast<float>(minint[d]) >= static_cast<float>(INT_MAX - 2))
      throw std::range_error("frame " + std::to_string(frame) + ": coordinates span too wide a range for XTC precision " +
                             std::to_string(precision));
  }
  uint32_t sizeint[3];
  for (int d = 0; d < 3; ++d) sizeint[d] = static_cast<uint32_t>(maxint[d]) - static_cast<uint32_t>(minint[d]) + 1u;
  int bitsizeint[3] = {0, 0, 0};
  int bitsize;
  if ((sizeint[0] | sizeint[1] | sizeint[2]) > 0xffffff) {
    for (int d = 0; d < 3; ++d) bitsizeint[d] = sizeofint(sizeint[d]);
    bitsize = 0;
  } else {
    bitsize = sizeofints(sizeint);
  }
  int smallidx = kFirstIdx;
  while (smallidx < kLastIdx && kMagicInts[smallidx] < mindiff) ++smallidx;
  // All consecutive atoms > 16777216 units apart: xdrfile would use the entry past its table
  // and write a frame that it cannot read back; the last entry keeps the frame readable.
  smallidx = std::min(smallidx, kLastIdx - 1);
  w.i32(smallidx);
  const int maxidx = std::min(kLastIdx, smallidx + 8);
  const int minidx = maxidx - 8;
  int smaller = kMagicInts[std::max(kFirstIdx, smallidx - 1)] / 2;
  int smallnum = kMagicInts[smallidx] / 2;
  uint32_t sizesmall[3];
  sizesmall[0] = sizesmall[1] = sizesmall[2] = static_cast<uint32_t>(kMagicInts[smallidx]);
  // For smallidx >= 65 xdrfile reads magicints[73], one past its table, which is 0 in the
  // builds GROMACS/mdtraj ship (the next constant); 0 here gives their bytes and never lets
  // smallidx step past the table.
  const int larger = maxidx < kLastIdx ? kMagicInts[maxidx] / 2 : 0;

  const size_t count_at = w.pos;
  w.u32(0);  // byte count, filled in below
  BitWriter bw(out + w.pos, cap - w.pos);
  int32_t prev[3] = {0, 0, 0};
  uint32_t tmpcoord[30];
  int prevrun = -1;
  int64_t i = 0;
  int32_t* c = ints.data();
  auto near = [](const int32_t* a, const int32_t* b, int32_t limit) {
    return wabs(wsub(a[0], b[0])) < limit && wabs(wsub(a[1], b[1])) < limit && wabs(wsub(a[2], b[2])) < limit;
  };
  while (i < natoms) {
    int is_small = 0, is_smaller;
    int32_t* tc = c + 3 * i;
    if (smallidx < maxidx && i >= 1 && near(tc, prev, larger)) {
      is_smaller = 1;
    } else if (smallidx > minidx) {
      is_smaller = -1;
    } else {
      is_smaller = 0;
    }
    if (i + 1 < natoms && near(tc, tc + 3, smallnum)) {
      // Water trick: put the second atom first so that the first becomes a small delta.
      std::swap(tc[0], tc[3]);
      std::swap(tc[1], tc[4]);
      std::swap(tc[2], tc[5]);
      is_small = 1;
    }
    for (int d = 0; d < 3; ++d) tmpcoord[d] = static_cast<uint32_t>(tc[d]) - static_cast<uint32_t>(minint[d]);
    if (bitsize == 0) {
      for (int d = 0; d < 3; ++d) bw.put(bitsizeint[d], tmpcoord[d]);
    } else {
      encodeints(bw, bitsize, sizeint, tmpcoord);
    }
    prev[0] = tc[0], prev[1] = tc[1], prev[2] = tc[2];
    ++i;

    int run = 0;
    if (is_small == 0 && is_smaller == -1) is_smaller = 0;
    while (is_small && run < 8 * 3) {
      tc = c + 3 * i;
      int32_t tmpsum = 0;
      for (int j = 0; j < 3; ++j) {
        const int32_t t = wsub(tc[j], prev[j]);
        tmpsum = wadd(tmpsum, wmul(t, t));
      }
      if (is_smaller == -1 && tmpsum >= wmul(smaller, smaller)) is_smaller = 0;
      for (int j = 0; j < 3; ++j) tmpcoord[run++] = static_cast<uint32_t>(wadd(wsub(tc[j], prev[j]), smallnum));
      prev[0] = tc[0], prev[1] = tc[1], prev[2] = tc[2];
      ++i;
      is_small = (i < natoms && near(c + 3 * i, prev, smallnum)) ? 1 : 0;
    }
    if (run != prevrun || is_smaller != 0) {
      prevrun = run;
      bw.put(1, 1);  // the run length changes
      bw.put(5, static_cast<uint32_t>(run + is_smaller + 1));
    } else {
      bw.put(1, 0);
    }
    for (int k = 0; k < run; k += 3) {
      for (int d = 0; d < 3; ++d) {
        // xdrfile aborts the process here ("major breakdown in encodeints"); we report instead.
        if (tmpcoord[k + d] >= sizesmall[d])
          throw std::range_error("frame " + std::to_string(frame) +
                                 ": coordinates overflow 32-bit integers at XTC precision " + std::to_string(precision));
      }
      encodeints(bw, smallidx, sizesmall, &tmpcoord[k]);
    }
    if (is_smaller != 0) {
      smallidx += is_smaller;
      if (is_smaller < 0) {
        smallnum = smaller;
        smaller = kMagicInts[smallidx - 1] / 2;
      } else {
        smaller = smallnum;
        smallnum = kMagicInts[smallidx] / 2;
      }
      sizesmall[0] = sizesmall[1] = sizesmall[2] = static_cast<uint32_t>(kMagicInts[smallidx]);
    }
  }
  const size_t nbytes = bw.finish();
  store_be32(out + count_at, static_cast<uint32_t>(nbytes));
  size_t end = w.pos + nbytes;
  while (end % 4 != 0) {
    if (end >= cap) throw std::logic_error("xtc: encoder output bound exceeded");
    out[end++] = 0;  // XDR opaque data is padded to 4 bytes with zeros
  }
  return end;
}

// Runs body(begin, end) over [0, n) split into up to `threads` contiguous parts, the first
// on the calling thread; rethrows the exception of the lowest failing part.
template <typename Body>
void parallel_ranges(int64_t n, int threads, int64_t min_per_thread, Body body) {
  int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, n / std::max<int64_t>(1, min_per_thread)));
  if (parts <= 1) {
    body(0, n);
    return;
  }
  std::vector<std::exception_ptr> errors(parts);
  std::vector<std::thread> pool;
  auto range = [&](int64_t p) {
    const int64_t b = n * p / parts, e = n * (p + 1) / parts;
    try {
      body(b, e);
    } catch (...) {
      errors[p] = std::current_exception();
    }
  };
  for (int64_t p = 1; p < parts; ++p) pool.emplace_back(range, p);
  range(0);
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

void decode_frames(const uint8_t* data, size_t size, const int64_t* offsets, int64_t frames, int64_t atoms,
                   const DecodeOutput& out, int threads) {
  // Small frames decode in microseconds: only split when each thread gets real work.
  const int64_t min_frames = std::max<int64_t>(1, 20000 / std::max<int64_t>(1, atoms));
  parallel_ranges(frames, threads, min_frames, [&](int64_t begin, int64_t end) {
    for (int64_t f = begin; f < end; ++f) {
      const int64_t start = offsets[f];
      const int64_t stop = f + 1 < frames ? offsets[f + 1] : static_cast<int64_t>(size);
      try {
        if (start < 0 || stop < start || stop > static_cast<int64_t>(size))
          throw FormatError("frame offsets out of order or outside the data");
        decode_frame(data + start, size_t(stop - start), atoms, out.coords + f * atoms * 3, out.boxes + f * 9,
                     out.times + f, out.steps + f);
      } catch (const FormatError& e) {
        throw FormatError("frame " + std::to_string(f) + ": " + e.what());
      }
    }
  });
}

size_t frame_bound(int64_t atoms) {
  // Header and padding, plus at most 96 + 6 bits per atom (a full coordinate triple and the
  // run flags); atoms inside runs cost at most 72 bits. Nine atoms or fewer are plain floats.
  return atoms <= 9 ? size_t(56 + 12 * atoms) : size_t(kHeaderBytes + 8 + 13 * atoms);
}

size_t encode_frames(const EncodeInput& in, int64_t frames, int64_t atoms, float precision, uint8_t* out,
                     size_t capacity, int threads) {
  const size_t bound = frame_bound(atoms);
  if (capacity < bound * size_t(frames)) throw std::logic_error("xtc: encode buffer below frames * frame_bound");
  const int64_t min_frames = std::max<int64_t>(1, 20000 / std::max<int64_t>(1, atoms));
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, frames / min_frames));
  // Each part writes its frames contiguously from its own slot start; parts are then packed.
  std::vector<size_t> used(parts, 0);
  parallel_ranges(parts, static_cast<int>(parts), 1, [&](int64_t pb, int64_t pe) {
    std::vector<int32_t> ints;
    for (int64_t p = pb; p < pe; ++p) {
      const int64_t b = frames * p / parts, e = frames * (p + 1) / parts;
      uint8_t* base = out + bound * size_t(b);
      size_t pos = 0;
      for (int64_t f = b; f < e; ++f) {
        pos += encode_frame(in.coords + f * atoms * 3, atoms, precision, in.boxes ? in.boxes + f * 9 : nullptr,
                            in.times ? in.times[f] : static_cast<float>(f), in.steps ? in.steps[f] : static_cast<int32_t>(f),
                            base + pos, bound * size_t(e - b) - pos, ints, f);
      }
      used[p] = pos;
    }
  });
  size_t total = used[0];
  for (int64_t p = 1; p < parts; ++p) {
    const size_t src = bound * size_t(frames * p / parts);
    std::memmove(out + total, out + src, used[p]);
    total += used[p];
  }
  return total;
}

}  // namespace tcbm::xtc
