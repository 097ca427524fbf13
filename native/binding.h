// Each binding_*.cpp registers its exports through one Init function.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

namespace tcbm {
class EnergyModel;
class Group;
}

namespace tcbm::binding {
void InitVoxel(Napi::Env env, Napi::Object exports);
void InitXtc(Napi::Env env, Napi::Object exports);
void InitModel(Napi::Env env, Napi::Object exports);
void InitEnergy(Napi::Env env, Napi::Object exports);
void InitRelax(Napi::Env env, Napi::Object exports);
void InitBench(Napi::Env env, Napi::Object exports);
void InitDist(Napi::Env env, Napi::Object exports);
// The EnergyModel behind a createForceField() handle; TypeError for anything else.
std::shared_ptr<EnergyModel> energy_model_of(const Napi::Value& value, const std::string& what);
// The joined c10d group behind a Group object; TypeError for anything else.
std::shared_ptr<Group> group_of(const Napi::Value& value, const std::string& what);
}  // namespace tcbm::binding
