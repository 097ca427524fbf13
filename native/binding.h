// Each binding_*.cpp registers its exports through one Init function.
#pragma once

#include <napi.h>

namespace tcbm::binding {
void InitVoxel(Napi::Env env, Napi::Object exports);
}  // namespace tcbm::binding
