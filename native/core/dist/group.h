// Data-parallel training across processes and machines on libtorch's c10d:
// a TCPStore for rendezvous and liveness, a ProcessGroupGloo for the
// collectives. Every rank runs the same sequence of calls; a rank that dies
// or stops answering makes the others fail with a message that names it.
#pragma once

#include <ATen/ATen.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tcbm {

// What a training step needs from its peers. The model sees only this, so it
// builds and runs without c10d (a world of one has no reducer at all).
class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  virtual int world() const = 0;
  // Replaces each value by its mean over the ranks (one small collective).
  virtual void average_values(std::vector<double>& values) = 0;
  // Replaces each gradient by its mean over the ranks, bucketed (undefined
  // gradients count as zeros and are allocated).
  virtual void average_gradients(std::vector<at::Tensor>& parameters) = 0;
  // Copies rank 0's values of the tensors into every rank's.
  virtual void broadcast(std::vector<at::Tensor>& tensors) = 0;
};

struct GroupOptions {
  std::string addr = "127.0.0.1";  // rank 0's address: it hosts the store
  int port = 29500;
  int rank = 0;
  int world = 1;
  // For rendezvous, for each collective and for a silent peer (no heartbeat).
  std::chrono::milliseconds timeout{60000};
  // Gradients are reduced in buckets of about this many bytes, as DDP does (25 MiB).
  int64_t bucket_bytes = 25 << 20;
};

// True when this build has c10d with Gloo (else Group::join throws).
bool distributed_available();

class Group : public GradientReducer {
 public:
  // Joins the group: rank 0 starts the store, every rank announces itself and
  // starts its heartbeat, then the Gloo context is made. Throws, naming the
  // ranks that did not join, after options.timeout.
  static std::shared_ptr<Group> join(const GroupOptions& options);
  ~Group() override;

  int rank() const { return options_.rank; }
  int world() const override { return options_.world; }
  const GroupOptions& options() const { return options_; }

  void average_values(std::vector<double>& values) override;
  void average_gradients(std::vector<at::Tensor>& parameters) override;
  void broadcast(std::vector<at::Tensor>& tensors) override;

  // Every rank states `value` under `what`; throws on every rank, with both
  // values, when some rank's differs from rank 0's (e.g. a different global batch).
  void agree(const std::string& what, const std::string& value);
  // Rank 0: marks phase `tag` done. Other ranks: wait until rank 0 has, for
  // as long as rank 0's heartbeat goes on (a validation may take minutes).
  // Both end at a barrier of every rank.
  void release(const std::string& tag);
  void wait_for_root(const std::string& tag);
  void barrier();
  // Stops the heartbeat and drops the connections (idempotent).
  void close();

  // Time and bytes of the gradient all-reduces so far (the bench's per-step cost).
  struct Stats {
    int64_t calls = 0;
    int64_t bytes = 0;  // per call, summed over calls
    double seconds = 0;
  };
  Stats stats() const { return stats_; }

  struct State;

 private:
  explicit Group(const GroupOptions& options);
  // Runs a collective; on failure, finds which ranks stopped beating and throws naming them.
  template <typename Fn>
  void collective(const char* what, Fn&& fn);
  std::string diagnose(const std::string& cause);

  GroupOptions options_;
  std::unique_ptr<State> state_;
  Stats stats_;
};

}  // namespace tcbm
