// NCCL, loaded at run time: load() dlopens libnccl.so.2 (the path comes from Python: the
// nvidia-nccl-cu13 wheel's copy), so no build needs NCCL and a build without it still runs.
// The part of NCCL's API used here is declared in nccl.cpp (its ABI: opaque communicator, a
// 128-byte unique id, int enums), so nccl.h is not needed at build time either.
//
// A collective waits (through an event) for the work queued so far on pydl's compute stream,
// runs on the device's communication stream (one per device: a communicator's collectives must
// run in the order they were issued, on every rank), and returns a Work holding its arrays.
// Work::wait makes the compute stream wait for it: no host synchronization, and since pydl
// allocates on the compute stream, the arrays' memory can only be reused after the collective.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "csrc/array.h"

namespace pydl::nccl {

int load(const std::string& path);  // once; returns ncclGetVersion's code (major*10000 + minor*100 + patch)
bool loaded();
std::string unique_id();  // ncclGetUniqueId: 128 bytes

struct CommState;

class Work {
 public:
  Work(std::shared_ptr<CommState> comm, void* done, std::vector<Array> arrays, const char* op);
  ~Work();  // an unwaited Work orders the compute stream after its collective before it lets the arrays go
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;

  void wait();          // the compute stream waits for the collective; the arrays are released
  bool is_completed();  // the collective has finished on the device
  // The host waits up to timeout_s for the collective, watching for NCCL's asynchronous errors;
  // on timeout or error the communicator is aborted and a RuntimeError names the op.
  void synchronize(double timeout_s);

 private:
  std::shared_ptr<CommState> comm_;
  void* done_;
  std::vector<Array> arrays_;
  const char* op_;
  bool waited_ = false;
};

class Communicator {
 public:
  // ncclCommInitRank on `device` (the id from unique_id() on one rank, shared with the others).
  Communicator(const std::string& id, int nranks, int rank, int device);
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  // op: ncclRedOp_t (0 sum, 1 prod, 2 max, 3 min, 4 avg). Tensors: contiguous, on this device.
  std::shared_ptr<Work> all_reduce(const Array& tensor, int op);
  std::shared_ptr<Work> broadcast(const Array& tensor, int root);
  std::shared_ptr<Work> all_gather(const Array& input, const Array& output);  // output: nranks * input
  std::shared_ptr<Work> reduce_scatter(const Array& input, const Array& output, int op);  // input: nranks * output

  void abort();    // ncclCommAbort: collectives in flight end (with an error) instead of hanging
  void destroy();  // ncclCommDestroy, after the work queued has finished
  int rank() const;
  int size() const;
  int device() const;

 private:
  template <class Launch>
  std::shared_ptr<Work> launch(const char* op, std::vector<Array> arrays, Launch&& enqueue);
  void check_tensor(const Array& a, const char* op, const char* what) const;
  std::shared_ptr<CommState> state_;
};

}  // namespace pydl::nccl
