#include "core/dist/group.h"

#include <stdexcept>

#ifdef TCBM_DISTRIBUTED

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <c10/util/Exception.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>

namespace tcbm {

bool distributed_available() { return true; }

namespace {

constexpr std::chrono::milliseconds kBeat{500};
// How long a silent peer is watched before it is called lost, once a collective failed.
constexpr std::chrono::milliseconds kLostAfter{2000};
// A heartbeat call that takes longer than this means the store (rank 0) is gone or hung.
constexpr std::chrono::milliseconds kBeatTimeout{10000};

std::string beat_key(int rank) { return "tcbm/beat/" + std::to_string(rank); }

std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string s = c10 ? c10->what_without_backtrace() : e.what();
  const auto nl = s.find('\n');
  if (nl != std::string::npos) s = s.substr(0, nl);
  // Gloo's messages start with their source location: "[./gloo/transport/tcp/pair.cc:589] Read error ..."
  if (!s.empty() && s[0] == '[') {
    const auto end = s.find("] ");
    if (end != std::string::npos) s = s.substr(end + 2);
  }
  return s;
}

std::string rank_list(const std::vector<int>& ranks) {
  std::ostringstream out;
  out << (ranks.size() == 1 ? "rank " : "ranks ");
  for (size_t i = 0; i < ranks.size(); i++) out << (i ? ", " : "") << ranks[i];
  return out.str();
}

std::string seconds(std::chrono::milliseconds ms) {
  std::ostringstream out;
  out << ms.count() / 1000.0 << " s";
  return out.str();
}

c10::intrusive_ptr<c10d::TCPStore> connect(const GroupOptions& o, bool server, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(o.port);
  so.isServer = server;
  so.waitWorkers = false;
  so.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(o.addr, so);
}

bool loopback(const std::string& addr) { return addr == "localhost" || addr.rfind("127.", 0) == 0; }

}  // namespace

struct Group::State {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  std::thread heart;
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  std::string failure;  // sticky: once a collective failed, every later call throws it
  int agreements = 0;
};

Group::Group(const GroupOptions& options) : options_(options), state_(std::make_unique<State>()) {}

Group::~Group() { close(); }

std::shared_ptr<Group> Group::join(const GroupOptions& o) {
  if (o.world < 1 || o.rank < 0 || o.rank >= o.world)
    throw std::invalid_argument("distributed: rank " + std::to_string(o.rank) + " is not in a world of size " + std::to_string(o.world));
  if (o.port < 1 || o.port > 65535) throw std::invalid_argument("distributed: port " + std::to_string(o.port) + " is not in 1..65535");
  std::shared_ptr<Group> g(new Group(o));
  auto& s = *g->state_;
  const std::string where = o.addr + ":" + std::to_string(o.port);
  try {
    s.store = connect(o, o.rank == 0, o.timeout);
  } catch (const std::exception& e) {
    throw std::runtime_error(o.rank == 0 ? "distributed: rank 0 cannot serve the store on " + where + ": " + first_line(e)
                                         : "distributed: rank " + std::to_string(o.rank) + " cannot reach rank 0's store at " + where +
                                               " within " + seconds(o.timeout) + " (is rank 0 running there?)");
  }
  s.store->add(beat_key(o.rank), 1);
  // The heartbeat has its own connection: the worker's may be blocked in a long call.
  // Its calls give up after kBeatTimeout, so a hung rank 0 cannot hold close() for long.
  s.heart = std::thread([&s, o] {
    try {
      auto store = connect(o, false, std::min(o.timeout, kBeatTimeout));
      std::unique_lock<std::mutex> lock(s.mutex);
      while (!s.stop) {
        lock.unlock();
        store->add(beat_key(o.rank), 1);
        lock.lock();
        s.wake.wait_for(lock, kBeat, [&] { return s.stop; });
      }
    } catch (const std::exception&) {
      // the store went away with rank 0; the next collective says so
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  for (;;) {
    std::vector<int> missing;
    for (int r = 0; r < o.world; r++)
      if (!s.store->check({beat_key(r)})) missing.push_back(r);
    if (missing.empty()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      g->close();
      throw std::runtime_error("distributed: " + rank_list(missing) + " did not join within " + seconds(o.timeout) + " (world size " +
                               std::to_string(o.world) + ", store " + where + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->timeout = o.timeout;
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  } else if (loopback(o.addr)) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  g->collective("rendezvous", [&] {
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("tcbm/gloo", s.store);
    s.gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, o.rank, o.world, options);
  });
  return g;
}

void Group::close() {
  if (!state_) return;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
  }
  state_->wake.notify_all();
  if (state_->heart.joinable()) state_->heart.join();
  state_->gloo.reset();
  state_->store.reset();
}

template <typename Fn>
void Group::collective(const char* what, Fn&& fn) {
  auto& s = *state_;
  if (!s.failure.empty()) throw std::runtime_error(s.failure);
  if (!s.store) throw std::runtime_error("distributed: the group is closed");
  try {
    fn();
  } catch (const std::exception& e) {
    s.failure = diagnose(std::string(what) + " failed: " + first_line(e));
    throw std::runtime_error(s.failure);
  }
}

// Which peers stopped beating? Their counters stay still while the others' move.
std::string Group::diagnose(const std::string& cause) {
  const auto& o = options_;
  const std::string where = o.addr + ":" + std::to_string(o.port);
  try {
    auto probe = connect(o, false, std::chrono::milliseconds(5000));
    std::vector<int64_t> before(o.world), after(o.world);
    for (int r = 0; r < o.world; r++) before[r] = probe->add(beat_key(r), 0);
    std::this_thread::sleep_for(kLostAfter);
    for (int r = 0; r < o.world; r++) after[r] = probe->add(beat_key(r), 0);
    std::vector<int> lost;
    for (int r = 0; r < o.world; r++)
      if (r != o.rank && after[r] == before[r]) lost.push_back(r);
    if (lost.empty()) return "distributed: " + cause + " (every rank still has a heartbeat)";
    return "distributed: " + rank_list(lost) + " was lost (no heartbeat for " + seconds(kLostAfter) + "); " + cause;
  } catch (const std::exception&) {
    if (o.rank == 0) return "distributed: " + cause;
    return "distributed: rank 0 was lost (its store at " + where + " no longer answers); " + cause;
  }
}

void Group::average_values(std::vector<double>& values) {
  if (values.empty()) return;
  auto t = at::tensor(values, at::kDouble);
  collective("averaging the loss terms", [&] {
    std::vector<at::Tensor> v{t};
    state_->gloo->allreduce(v)->wait();
  });
  t.div_(world());
  for (size_t i = 0; i < values.size(); i++) values[i] = t[static_cast<int64_t>(i)].item<double>();
}

namespace {

// Parameter indices in buckets of about `bytes`, last parameter first (the
// order backward produces gradients in, as DDP buckets them), one dtype each.
std::vector<std::vector<size_t>> buckets_of(const std::vector<at::Tensor>& tensors, int64_t bytes) {
  std::vector<std::vector<size_t>> out;
  int64_t filled = 0;
  for (size_t k = tensors.size(); k-- > 0;) {
    const auto& t = tensors[k];
    const int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
    if (out.empty() || filled + size > bytes || tensors[out.back().front()].scalar_type() != t.scalar_type()) {
      out.emplace_back();
      filled = 0;
    }
    out.back().push_back(k);
    filled += size;
  }
  return out;
}

at::Tensor flatten(const std::vector<at::Tensor>& tensors, const std::vector<size_t>& bucket) {
  std::vector<at::Tensor> parts;
  for (size_t k : bucket) parts.push_back(tensors[k].reshape(-1));
  return at::cat(parts);
}

void unflatten(const at::Tensor& flat, std::vector<at::Tensor>& tensors, const std::vector<size_t>& bucket) {
  int64_t offset = 0;
  for (size_t k : bucket) {
    auto& t = tensors[k];
    t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

}  // namespace

void Group::average_gradients(std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> grads;
  for (auto& p : parameters) {
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  const auto buckets = buckets_of(grads, options_.bucket_bytes);
  const auto t0 = std::chrono::steady_clock::now();
  collective("averaging the gradients", [&] {
    // Every bucket is launched before the first is waited on: Gloo reduces
    // one while the next is being flattened.
    std::vector<at::Tensor> flats;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (const auto& bucket : buckets) {
      std::vector<at::Tensor> v{flatten(grads, bucket)};
      works.push_back(state_->gloo->allreduce(v));
      flats.push_back(v[0]);
    }
    for (size_t b = 0; b < buckets.size(); b++) {
      works[b]->wait();
      unflatten(flats[b].div_(world()), grads, buckets[b]);
    }
  });
  stats_.calls++;
  for (const auto& g : grads) stats_.bytes += g.numel() * static_cast<int64_t>(g.element_size());
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void Group::broadcast(std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  const auto buckets = buckets_of(tensors, options_.bucket_bytes);
  collective("broadcasting rank 0's weights", [&] {
    for (const auto& bucket : buckets) {
      std::vector<at::Tensor> v{flatten(tensors, bucket)};
      state_->gloo->broadcast(v, c10d::BroadcastOptions{})->wait();
      if (rank() != 0) unflatten(v[0], tensors, bucket);
    }
  });
}

void Group::agree(const std::string& what, const std::string& value) {
  const std::string base = "tcbm/agree/" + std::to_string(state_->agreements++) + "/";
  std::vector<std::vector<uint8_t>> values(world());
  collective("comparing the ranks' settings", [&] {
    auto& store = *state_->store;
    store.set(base + std::to_string(rank()), std::vector<uint8_t>(value.begin(), value.end()));
    for (int r = 0; r < world(); r++) values[r] = store.get(base + std::to_string(r));
  });
  auto text = [](const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); };
  for (int r = 1; r < world(); r++)
    if (values[r] != values[0])
      throw std::invalid_argument("distributed: rank " + std::to_string(r) + "'s " + what + " (" + text(values[r]) +
                                  ") differs from rank 0's (" + text(values[0]) + ")");
}

void Group::release(const std::string& tag) {
  if (rank() != 0) return;
  collective("releasing the other ranks", [&] { state_->store->set("tcbm/phase/" + tag, std::vector<uint8_t>{1}); });
  barrier();
}

// Also what lets rank 0 (and its store) go only once every rank has seen the release.
void Group::barrier() {
  collective("waiting for every rank", [&] { state_->gloo->barrier()->wait(); });
}

void Group::wait_for_root(const std::string& tag) {
  if (rank() == 0) return;
  auto& s = *state_;
  if (!s.failure.empty()) throw std::runtime_error(s.failure);
  const std::string where = options_.addr + ":" + std::to_string(options_.port);
  try {
    int64_t beat = s.store->add(beat_key(0), 0);
    auto moved = std::chrono::steady_clock::now();
    while (!s.store->check({"tcbm/phase/" + tag})) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const int64_t now_beat = s.store->add(beat_key(0), 0);
      const auto now = std::chrono::steady_clock::now();
      if (now_beat != beat) {
        beat = now_beat;
        moved = now;
      } else if (now - moved > options_.timeout) {
        s.failure = "distributed: rank 0 was lost (no heartbeat for " + seconds(options_.timeout) + " while this rank waited for it)";
        throw std::runtime_error(s.failure);
      }
    }
  } catch (const std::exception&) {
    if (!s.failure.empty()) throw;
    s.failure = "distributed: rank 0 was lost (its store at " + where + " no longer answers)";
    throw std::runtime_error(s.failure);
  }
  barrier();
}

}  // namespace tcbm

#else  // no c10d with Gloo in this build

namespace tcbm {

bool distributed_available() { return false; }

struct Group::State {};
Group::Group(const GroupOptions& options) : options_(options) {}
Group::~Group() = default;
std::shared_ptr<Group> Group::join(const GroupOptions&) {
  throw std::runtime_error(
      "distributed: this build of tcbackmap has no c10d/Gloo (install the Gloo headers, e.g. apt-get install libgloo-dev, and rebuild)");
}
void Group::average_values(std::vector<double>&) {}
void Group::average_gradients(std::vector<at::Tensor>&) {}
void Group::broadcast(std::vector<at::Tensor>&) {}
void Group::agree(const std::string&, const std::string&) {}
void Group::release(const std::string&) {}
void Group::wait_for_root(const std::string&) {}
void Group::close() {}
void Group::barrier() {}

}  // namespace tcbm

#endif
