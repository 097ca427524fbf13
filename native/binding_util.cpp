#include "binding_util.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace tcbm::binding {

Options::Options(const Napi::CallbackInfo& info, const char* op) : env_(info.Env()), op_(op) {
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env_, op_ + ": expected one options object");
  obj_ = info[0].As<Napi::Object>();
}

Options::Options(Napi::Env env, const Napi::Value& value, const std::string& op) : env_(env), op_(op) {
  if (!value.IsObject()) throw Napi::TypeError::New(env_, op_ + ": expected an options object");
  obj_ = value.As<Napi::Object>();
}

Napi::Value Options::get(const char* key) const { return obj_.Get(key); }

bool Options::has(const char* key) const {
  const auto v = get(key);
  return !v.IsUndefined() && !v.IsNull();
}

Napi::TypedArray Options::float_array(const char* key) const {
  auto v = get(key);
  if (!v.IsTypedArray())
    throw Napi::TypeError::New(env_, op_ + ": expected Float32Array or Float64Array for " + key);
  auto array = v.As<Napi::TypedArray>();
  scalar_type_of(array, op_ + ": " + key);
  return array;
}

at::Tensor Options::int_tensor(const char* key, at::IntArrayRef shape) const {
  auto v = get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env_, op_ + ": expected Int32Array for " + key);
  auto array = v.As<Napi::Int32Array>();
  int64_t numel = 1;
  for (auto s : shape) numel *= s;
  if (static_cast<int64_t>(array.ElementLength()) != numel)
    throw Napi::RangeError::New(env_, op_ + ": " + key + ": expected " + std::to_string(numel) + " elements for shape " +
                                          c10::str(shape) + " but received " + std::to_string(array.ElementLength()));
  return at::from_blob(array.Data(), shape, at::kInt).to(at::kLong);
}

int64_t Options::positive_int(const char* key) const {
  auto v = get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(env_, op_ + ": expected positive integer for " + key);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || std::floor(d) != d || d > 9.0e15)
    throw Napi::RangeError::New(env_, op_ + ": expected positive integer for " + key);
  return static_cast<int64_t>(d);
}

int64_t Options::int_or(const char* key, int64_t fallback) const {
  return get(key).IsUndefined() ? fallback : positive_int(key);
}

int64_t Options::integer_or(const char* key, int64_t fallback) const {
  auto v = get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(env_, op_ + ": expected integer for " + key);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (std::floor(d) != d || std::fabs(d) > 9.0e15) throw Napi::RangeError::New(env_, op_ + ": expected integer for " + key);
  return static_cast<int64_t>(d);
}

double Options::positive_number(const char* key) const {
  auto v = get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(env_, op_ + ": expected positive number for " + key);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d > 0) || !std::isfinite(d))
    throw Napi::RangeError::New(env_, op_ + ": expected positive finite number for " + key);
  return d;
}

double Options::number_or(const char* key, double fallback) const {
  auto v = get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(env_, op_ + ": expected number for " + key);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw Napi::RangeError::New(env_, op_ + ": expected finite number for " + key);
  return d;
}

bool Options::bool_or(const char* key, bool fallback) const {
  auto v = get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(env_, op_ + ": expected boolean for " + key);
  return v.As<Napi::Boolean>().Value();
}

std::string Options::string_or(const char* key, const std::string& fallback) const {
  auto v = get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throw Napi::TypeError::New(env_, op_ + ": expected string for " + key);
  return v.As<Napi::String>().Utf8Value();
}

at::ScalarType scalar_type_of(const Napi::TypedArray& array, const std::string& what) {
  switch (array.TypedArrayType()) {
    case napi_float32_array: return at::kFloat;
    case napi_float64_array: return at::kDouble;
    default: throw Napi::TypeError::New(array.Env(), what + ": expected Float32Array or Float64Array");
  }
}

at::Tensor view_of(const Napi::TypedArray& array, at::IntArrayRef shape, const std::string& what) {
  const auto type = scalar_type_of(array, what);
  int64_t numel = 1;
  for (auto s : shape) numel *= s;
  if (static_cast<int64_t>(array.ElementLength()) != numel) {
    throw Napi::RangeError::New(array.Env(), what + ": expected " + std::to_string(numel) + " elements for shape " +
                                                 c10::str(shape) + " but received " +
                                                 std::to_string(array.ElementLength()));
  }
  auto* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return at::from_blob(data, shape, at::TensorOptions().dtype(type));
}

Napi::TypedArray new_float_array(Napi::Env env, at::ScalarType type, int64_t numel) {
  if (type == at::kDouble) return Napi::Float64Array::New(env, numel);
  return Napi::Float32Array::New(env, numel);
}

void use_threads(int64_t threads) {
  if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(static_cast<int>(threads));
}

void require_finite(const at::Tensor& t, const std::string& what) {
  auto bad = at::logical_not(at::isfinite(t));
  if (!bad.any().item<bool>()) return;
  const int64_t first = bad.reshape({-1}).nonzero()[0][0].item<int64_t>();
  const int64_t per_particle = t.dim() > 2 ? t[0][0].numel() : 1;
  const int64_t particle = first / per_particle;
  throw RangeError(what + " is not finite (NaN or Infinity) at frame " + std::to_string(particle / t.size(1)) +
                   ", particle " + std::to_string(particle % t.size(1)));
}

TorchWorker::TorchWorker(Napi::Env env, const char* name, int64_t threads)
    : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), threads_(threads) {}

void TorchWorker::Execute() {
  try {
    use_threads(threads_);
    Run();
  } catch (const RangeError& e) {
    range_error_ = true;
    SetError(e.what());
  } catch (const c10::Error& e) {
    SetError(e.what_without_backtrace());
  } catch (const std::exception& e) {
    SetError(e.what());
  }
}

void TorchWorker::OnWorkComplete(Napi::Env env, napi_status status) {
  try {
    Napi::AsyncWorker::OnWorkComplete(env, status);  // settles, then Destroy()s
  } catch (const Napi::Error&) {
    Destroy();  // the exception came before the base's Destroy()
  }
}

void TorchWorker::OnOK() {
  Napi::HandleScope scope(Env());
  deferred_.Resolve(Result(Env()));
  kept_.clear();
}

void TorchWorker::OnError(const Napi::Error& error) {
  Napi::HandleScope scope(Env());
  const std::string message = error.Message();
  auto value = range_error_ ? Napi::RangeError::New(Env(), message).Value() : Napi::Error::New(Env(), message).Value();
  deferred_.Reject(value);
  kept_.clear();
}

}  // namespace tcbm::binding
