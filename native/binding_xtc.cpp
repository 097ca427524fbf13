// XTC frame decoding/encoding (core/codecs/xtc.h) as Promise-returning jobs. No libtorch here:
// the work is integer bit-unpacking, split over plain std::threads.
#include "binding.h"
#include "binding_util.h"
#include "core/codecs/xtc.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <vector>

namespace tcbm::binding {
namespace {

// The typed array at obj[key] if its type is one of `types`; an empty handle when optional and absent.
Napi::TypedArray typed_array(const Napi::Object& obj, const std::string& op, const char* key,
                             std::initializer_list<napi_typedarray_type> types, const char* expected,
                             bool optional = false) {
  auto v = obj.Get(key);
  if (optional && v.IsUndefined()) return Napi::TypedArray();
  if (v.IsTypedArray()) {
    auto array = v.As<Napi::TypedArray>();
    for (auto t : types)
      if (array.TypedArrayType() == t) return array;
  }
  throw Napi::TypeError::New(obj.Env(), op + ": expected " + expected + " for " + key);
}

template <typename T>
T* data_of(const Napi::TypedArray& array) {
  return reinterpret_cast<T*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
}

void require_length(const Napi::TypedArray& array, const std::string& op, const char* key, int64_t expected) {
  if (static_cast<int64_t>(array.ElementLength()) != expected)
    throw Napi::RangeError::New(array.Env(), op + ": expected " + std::to_string(expected) + " elements for " + key +
                                                 " but received " + std::to_string(array.ElementLength()));
}

// Frame start offsets as int64, checked to be integers inside the byte buffer and non-decreasing.
std::vector<int64_t> frame_offsets(const Napi::TypedArray& array, int64_t frames, size_t size) {
  const auto env = array.Env();
  const int64_t n = static_cast<int64_t>(array.ElementLength());
  if (n != frames && n != frames + 1)
    throw Napi::RangeError::New(env, "xtcDecode: expected " + std::to_string(frames) + " or " +
                                         std::to_string(frames + 1) + " offsets but received " + std::to_string(n));
  std::vector<int64_t> offsets(static_cast<size_t>(frames));
  for (int64_t f = 0; f < frames; ++f) {
    double v = array.TypedArrayType() == napi_float64_array ? data_of<double>(array)[f] : data_of<int32_t>(array)[f];
    if (!(v >= 0) || std::floor(v) != v || v > static_cast<double>(size) || (f > 0 && v < offsets[f - 1]))
      throw Napi::RangeError::New(env, "xtcDecode: offset " + std::to_string(f) +
                                           " is not a non-decreasing integer index into bytes");
    offsets[f] = static_cast<int64_t>(v);
  }
  return offsets;
}

Napi::Value XtcDecode(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const auto env = info.Env();
    Options o(info, "xtcDecode");
    const auto obj = info[0].As<Napi::Object>();
    const int64_t frames = o.positive_int("frames");
    const int64_t atoms = o.positive_int("atoms");
    const int threads = static_cast<int>(std::min<int64_t>(o.int_or("threads", 1), 256));
    if (atoms > std::numeric_limits<int32_t>::max()) throw Napi::RangeError::New(env, "xtcDecode: too many atoms");
    auto bytes = typed_array(obj, "xtcDecode", "bytes", {napi_uint8_array}, "Uint8Array");
    auto offsets_array = typed_array(obj, "xtcDecode", "offsets", {napi_float64_array, napi_int32_array},
                                     "Float64Array or Int32Array");
    const size_t size = bytes.ByteLength();
    auto offsets = frame_offsets(offsets_array, frames, size);

    // Outputs come from V8 on this thread (no external buffers) and are filled in place by the worker.
    auto coords = Napi::Float32Array::New(env, static_cast<size_t>(frames * atoms * 3));
    auto boxes = Napi::Float32Array::New(env, static_cast<size_t>(frames * 9));
    auto times = Napi::Float32Array::New(env, static_cast<size_t>(frames));
    auto steps = Napi::Int32Array::New(env, static_cast<size_t>(frames));
    auto result = Napi::Object::New(env);
    result.Set("coords", coords);
    result.Set("boxes", boxes);
    result.Set("times", times);
    result.Set("steps", steps);
    const uint8_t* data = data_of<uint8_t>(bytes);
    const xtc::DecodeOutput out{data_of<float>(coords), data_of<float>(boxes), data_of<float>(times),
                                data_of<int32_t>(steps)};
    auto* job = new Job(env, "tcbm.xtcDecode", 0, [=, offsets = std::move(offsets)] {
      xtc::decode_frames(data, size, offsets.data(), frames, atoms, out, threads);
    }, result);
    job->keep(bytes);
    job->Queue();
    return job->promise();
  });
}

// Resolves with { bytes }: a view of the used prefix of the upper-bound buffer allocated before queueing.
class EncodeJob : public TorchWorker {
 public:
  EncodeJob(Napi::Env env, std::function<size_t()> run, const Napi::Uint8Array& out)
      : TorchWorker(env, "tcbm.xtcEncode", 0), run_(std::move(run)), out_(Napi::Persistent(out)) {}
  using TorchWorker::keep;

 protected:
  void Run() override { used_ = run_(); }
  Napi::Value Result(Napi::Env env) override {
    auto full = out_.Value();
    auto result = Napi::Object::New(env);
    result.Set("bytes", Napi::Uint8Array::New(env, used_, full.ArrayBuffer(), full.ByteOffset()));
    return result;
  }

 private:
  std::function<size_t()> run_;
  Napi::Reference<Napi::Uint8Array> out_;
  size_t used_ = 0;
};

Napi::Value XtcEncode(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const auto env = info.Env();
    const std::string op = "xtcEncode";
    Options o(info, "xtcEncode");
    const auto obj = info[0].As<Napi::Object>();
    const int64_t frames = o.positive_int("frames");
    const int64_t atoms = o.positive_int("atoms");
    const double precision = o.positive_number("precision");
    const int threads = static_cast<int>(std::min<int64_t>(o.int_or("threads", 1), 256));
    if (atoms > std::numeric_limits<int32_t>::max()) throw Napi::RangeError::New(env, "xtcEncode: too many atoms");
    if (!(precision <= std::numeric_limits<float>::max()))
      throw Napi::RangeError::New(env, "xtcEncode: precision does not fit a float");
    auto coords = typed_array(obj, op, "coords", {napi_float32_array}, "Float32Array");
    require_length(coords, op, "coords", frames * atoms * 3);
    auto boxes = typed_array(obj, op, "boxes", {napi_float32_array}, "Float32Array", true);
    auto times = typed_array(obj, op, "times", {napi_float32_array}, "Float32Array", true);
    auto steps = typed_array(obj, op, "steps", {napi_int32_array}, "Int32Array", true);
    if (!boxes.IsEmpty()) require_length(boxes, op, "boxes", frames * 9);
    if (!times.IsEmpty()) require_length(times, op, "times", frames);
    if (!steps.IsEmpty()) require_length(steps, op, "steps", frames);

    const size_t capacity = xtc::frame_bound(atoms) * static_cast<size_t>(frames);
    auto out = Napi::Uint8Array::New(env, capacity);
    const xtc::EncodeInput in{data_of<float>(coords), boxes.IsEmpty() ? nullptr : data_of<float>(boxes),
                              times.IsEmpty() ? nullptr : data_of<float>(times),
                              steps.IsEmpty() ? nullptr : data_of<int32_t>(steps)};
    uint8_t* dst = data_of<uint8_t>(out);
    const float prec = static_cast<float>(precision);
    auto* job = new EncodeJob(env, [=] { return xtc::encode_frames(in, frames, atoms, prec, dst, capacity, threads); },
                              out);
    job->keep(coords);
    for (const auto& a : {boxes, times, steps})
      if (!a.IsEmpty()) job->keep(a);
    job->Queue();
    return job->promise();
  });
}

}  // namespace

void InitXtc(Napi::Env env, Napi::Object exports) {
  exports.Set("xtcDecode", Napi::Function::New(env, XtcDecode, "xtcDecode"));
  exports.Set("xtcEncode", Napi::Function::New(env, XtcEncode, "xtcEncode"));
}

}  // namespace tcbm::binding
