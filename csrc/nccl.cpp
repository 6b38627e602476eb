// NCCL through dlopen (csrc/nccl.h).
#include "csrc/nccl.h"

#include <dlfcn.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "csrc/cuda/runtime.h"
#include "csrc/errors.h"
#include "csrc/nccl_streams.h"

namespace pydl::nccl {

namespace {

// The subset of nccl.h used here, as its ABI has it since NCCL 2.0.
struct ncclComm;
using ncclComm_t = ncclComm*;
struct ncclUniqueId {
  char internal[128];
};
using ncclResult_t = int;
constexpr ncclResult_t ncclSuccess = 0;
constexpr ncclResult_t ncclInProgress = 7;
enum : int { ncclInt8 = 0, ncclUint8 = 1, ncclInt32 = 2, ncclInt64 = 4, ncclFloat16 = 6, ncclFloat32 = 7,
             ncclFloat64 = 8, ncclBfloat16 = 9 };

struct Api {
  ncclResult_t (*GetVersion)(int*) = nullptr;
  ncclResult_t (*GetUniqueId)(ncclUniqueId*) = nullptr;
  ncclResult_t (*CommInitRank)(ncclComm_t*, int, ncclUniqueId, int) = nullptr;
  ncclResult_t (*CommDestroy)(ncclComm_t) = nullptr;
  ncclResult_t (*CommAbort)(ncclComm_t) = nullptr;
  ncclResult_t (*CommGetAsyncError)(ncclComm_t, ncclResult_t*) = nullptr;
  const char* (*GetErrorString)(ncclResult_t) = nullptr;
  const char* (*GetLastError)(ncclComm_t) = nullptr;  // NCCL >= 2.13; optional
  ncclResult_t (*AllReduce)(const void*, void*, size_t, int, int, ncclComm_t, void*) = nullptr;
  ncclResult_t (*Broadcast)(const void*, void*, size_t, int, int, ncclComm_t, void*) = nullptr;
  ncclResult_t (*AllGather)(const void*, void*, size_t, int, ncclComm_t, void*) = nullptr;
  ncclResult_t (*ReduceScatter)(const void*, void*, size_t, int, int, ncclComm_t, void*) = nullptr;
};

Api api;
std::mutex load_mutex;
bool is_loaded = false;
int version_code = 0;

template <class F>
void resolve(void* lib, F& fn, const char* name, const std::string& path, bool required = true) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn && required) fail<RuntimeError>("nccl: ", path, " has no symbol ", name, " (NCCL 2.13 or newer is needed)");
}

const Api& nccl(const char* op) {
  if (!is_loaded) fail<RuntimeError>(op, ": NCCL is not loaded (pydl.distributed loads it for backend='nccl')");
  return api;
}

std::string describe(ncclResult_t r, ncclComm_t comm) {
  std::string s = std::string(api.GetErrorString ? api.GetErrorString(r) : "NCCL error") + " (ncclResult_t " +
                  std::to_string(r) + ")";
  const char* last = api.GetLastError ? api.GetLastError(comm) : nullptr;
  if (last && *last) s += ": " + std::string(last);
  return s;
}

void check(ncclResult_t r, const char* call, const char* op, ncclComm_t comm = nullptr) {
  if (r != ncclSuccess && r != ncclInProgress) fail<RuntimeError>(op, ": ", call, " failed: ", describe(r, comm));
}

int nccl_type(DType d, const char* op) {
  switch (d) {
    case DType::Bool:
    case DType::UInt8: return ncclUint8;
    case DType::Int32: return ncclInt32;
    case DType::Int64: return ncclInt64;
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    case DType::Float16: return ncclFloat16;
    case DType::BFloat16: return ncclBfloat16;
    default: break;
  }
  fail<TypeError>(op, ": NCCL has no type for this tensor's dtype");
}

}  // namespace

// ---------------------------------------------------------------- loading

int load(const std::string& path) {
  std::lock_guard<std::mutex> lock(load_mutex);
  if (is_loaded) return version_code;
  // Never unloaded: communicators and their threads may outlive any one Python object.
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) fail<RuntimeError>("nccl: cannot load ", path, ": ", dlerror());
  Api a;
  resolve(lib, a.GetVersion, "ncclGetVersion", path);
  resolve(lib, a.GetUniqueId, "ncclGetUniqueId", path);
  resolve(lib, a.CommInitRank, "ncclCommInitRank", path);
  resolve(lib, a.CommDestroy, "ncclCommDestroy", path);
  resolve(lib, a.CommAbort, "ncclCommAbort", path);
  resolve(lib, a.CommGetAsyncError, "ncclCommGetAsyncError", path);
  resolve(lib, a.GetErrorString, "ncclGetErrorString", path);
  resolve(lib, a.GetLastError, "ncclGetLastError", path, false);
  resolve(lib, a.AllReduce, "ncclAllReduce", path);
  resolve(lib, a.Broadcast, "ncclBroadcast", path);
  resolve(lib, a.AllGather, "ncclAllGather", path);
  resolve(lib, a.ReduceScatter, "ncclReduceScatter", path);
  int v = 0;
  ncclResult_t r = a.GetVersion(&v);
  if (r != ncclSuccess) fail<RuntimeError>("nccl: ncclGetVersion failed with ncclResult_t ", r);
  api = a;
  version_code = v;
  is_loaded = true;
  return v;
}

bool loaded() { return is_loaded; }

std::string unique_id() {
  ncclUniqueId id;
  check(nccl("nccl_unique_id").GetUniqueId(&id), "ncclGetUniqueId", "nccl_unique_id");
  return std::string(id.internal, sizeof(id.internal));
}

// ---------------------------------------------------------------- communicator

struct CommState {
  ncclComm_t comm = nullptr;
  int rank = 0, size = 0, device = 0;
  bool aborted = false;
  std::mutex mu;
};

Communicator::Communicator(const std::string& id, int nranks, int rank, int device)
    : state_(std::make_shared<CommState>()) {
  const Api& a = nccl("init_process_group(backend='nccl')");
  if (id.size() != sizeof(ncclUniqueId))
    fail<ValueError>("NcclComm: the unique id should have ", sizeof(ncclUniqueId), " bytes, got ", id.size());
  if (nranks < 1 || rank < 0 || rank >= nranks)
    fail<ValueError>("NcclComm: expected 0 <= rank < nranks, got rank ", rank, " of ", nranks);
  if (streams::available()) {
    if (cuda::device_count() == 0)
      fail<RuntimeError>("init_process_group(backend='nccl'): ", cuda::unavailable_reason());
    streams::set_device(device);
  }
  ncclUniqueId uid;
  std::copy(id.begin(), id.end(), uid.internal);
  ncclComm_t comm = nullptr;
  check(a.CommInitRank(&comm, nranks, uid, rank), "ncclCommInitRank", "init_process_group(backend='nccl')");
  state_->comm = comm;
  state_->rank = rank;
  state_->size = nranks;
  state_->device = device;
}

int Communicator::rank() const { return state_->rank; }
int Communicator::size() const { return state_->size; }
int Communicator::device() const { return state_->device; }

void Communicator::check_tensor(const Array& a, const char* op, const char* what) const {
  if (a.device().type != DeviceType::CUDA || a.device().index != state_->device)
    fail<ValueError>(op, ": ", what, " is on ", a.device().str(), ", this communicator works on cuda:", state_->device);
  if (!a.is_contiguous()) fail<ValueError>(op, ": ", what, " must be contiguous");
}

template <class Launch>
std::shared_ptr<Work> Communicator::launch(const char* op, std::vector<Array> arrays, Launch&& enqueue) {
  if (!state_->comm) fail<RuntimeError>(op, ": the NCCL communicator was ", state_->aborted ? "aborted" : "destroyed");
  if (!streams::available())
    fail<RuntimeError>(op, ": NCCL collectives need pydl built with its CUDA backend (nvcc at build time)");
  const int device = state_->device;
  void* compute = cuda::current_stream(device);  // makes `device` current
  void* side = streams::comm_stream(device);
  void* ready = streams::event_create();
  try {
    streams::record(ready, compute);
    streams::wait(side, ready);
  } catch (...) {
    streams::event_destroy(ready);
    throw;
  }
  streams::event_destroy(ready);  // (released once the wait no longer needs it)
  check(enqueue(side), op, op, state_->comm);
  void* done = streams::event_create();
  try {
    streams::record(done, side);
  } catch (...) {
    streams::event_destroy(done);
    throw;
  }
  return std::make_shared<Work>(state_, done, std::move(arrays), op);
}

std::shared_ptr<Work> Communicator::all_reduce(const Array& t, int op) {
  check_tensor(t, "all_reduce", "the tensor");
  const int type = nccl_type(t.dtype(), "all_reduce");
  const Api& a = nccl("all_reduce");
  return launch("all_reduce", {t}, [&](void* s) {
    return a.AllReduce(t.data(), t.data(), size_t(t.numel()), type, op, state_->comm, s);
  });
}

std::shared_ptr<Work> Communicator::broadcast(const Array& t, int root) {
  check_tensor(t, "broadcast", "the tensor");
  if (root < 0 || root >= state_->size) fail<ValueError>("broadcast: src ", root, " is not a rank of ", state_->size);
  const int type = nccl_type(t.dtype(), "broadcast");
  const Api& a = nccl("broadcast");
  return launch("broadcast", {t}, [&](void* s) {
    return a.Broadcast(t.data(), t.data(), size_t(t.numel()), type, root, state_->comm, s);
  });
}

std::shared_ptr<Work> Communicator::all_gather(const Array& in, const Array& out) {
  check_tensor(in, "all_gather", "the input");
  check_tensor(out, "all_gather", "the output");
  if (in.dtype() != out.dtype() || out.numel() != in.numel() * state_->size)
    fail<ValueError>("all_gather: the output should hold ", state_->size, " x ", in.numel(),
                     " elements of the input's dtype, got ", out.numel());
  const int type = nccl_type(in.dtype(), "all_gather");
  const Api& a = nccl("all_gather");
  return launch("all_gather", {in, out}, [&](void* s) {
    return a.AllGather(in.data(), out.data(), size_t(in.numel()), type, state_->comm, s);
  });
}

std::shared_ptr<Work> Communicator::reduce_scatter(const Array& in, const Array& out, int op) {
  check_tensor(in, "reduce_scatter", "the input");
  check_tensor(out, "reduce_scatter", "the output");
  if (in.dtype() != out.dtype() || in.numel() != out.numel() * state_->size)
    fail<ValueError>("reduce_scatter: the input should hold ", state_->size, " x ", out.numel(),
                     " elements of the output's dtype, got ", in.numel());
  const int type = nccl_type(in.dtype(), "reduce_scatter");
  const Api& a = nccl("reduce_scatter");
  return launch("reduce_scatter", {in, out}, [&](void* s) {
    return a.ReduceScatter(in.data(), out.data(), size_t(out.numel()), type, op, state_->comm, s);
  });
}

void Communicator::abort() {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->comm) return;
  api.CommAbort(state_->comm);
  state_->comm = nullptr;
  state_->aborted = true;
}

void Communicator::destroy() {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->comm) return;
  ncclComm_t comm = state_->comm;
  state_->comm = nullptr;
  check(api.CommDestroy(comm), "ncclCommDestroy", "destroy_process_group");
}

// ---------------------------------------------------------------- work

Work::Work(std::shared_ptr<CommState> comm, void* done, std::vector<Array> arrays, const char* op)
    : comm_(std::move(comm)), done_(done), arrays_(std::move(arrays)), op_(op) {}

Work::~Work() {
  try {
    if (!waited_) wait();
  } catch (...) {  // the context is gone (process teardown, a sticky error): nothing is reused then
  }
  streams::event_destroy(done_);
}

void Work::wait() {
  if (!waited_) {
    streams::wait(cuda::current_stream(comm_->device), done_);
    waited_ = true;
  }
  arrays_.clear();
}

bool Work::is_completed() { return streams::query(done_); }

void Work::synchronize(double timeout_s) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::duration<double>(timeout_s);
  auto pause = std::chrono::microseconds(10);
  while (!streams::query(done_)) {
    ncclComm_t comm;
    {
      std::lock_guard<std::mutex> lock(comm_->mu);
      comm = comm_->comm;
      ncclResult_t async = ncclSuccess;
      if (comm && api.CommGetAsyncError(comm, &async) == ncclSuccess && async != ncclSuccess &&
          async != ncclInProgress) {
        std::string why = describe(async, comm);
        api.CommAbort(comm);
        comm_->comm = nullptr;
        comm_->aborted = true;
        fail<RuntimeError>(op_, " failed: ", why, "; the communicator was aborted");
      }
    }
    if (clock::now() > deadline) {
      std::lock_guard<std::mutex> lock(comm_->mu);
      if (comm_->comm) api.CommAbort(comm_->comm);
      comm_->comm = nullptr;
      comm_->aborted = true;
      fail<RuntimeError>(op_, " timed out after ", timeout_s, " s on rank ", comm_->rank,
                         " (some rank did not enter it); the communicator was aborted");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

}  // namespace pydl::nccl

#ifndef PYDL_NCCL_STREAMS
// Without the CUDA backend (or under its emulation) there are no streams to run NCCL on.
namespace pydl::nccl::streams {
static const char* kNoStreams = "NCCL collectives need pydl built with its CUDA backend (nvcc at build time)";
bool available() { return false; }
void set_device(int) { fail<RuntimeError>(kNoStreams); }
void* comm_stream(int) { fail<RuntimeError>(kNoStreams); }
void* event_create() { fail<RuntimeError>(kNoStreams); }
void event_destroy(void*) noexcept {}
void record(void*, void*) { fail<RuntimeError>(kNoStreams); }
void wait(void*, void*) { fail<RuntimeError>(kNoStreams); }
bool query(void*) { fail<RuntimeError>(kNoStreams); }
}  // namespace pydl::nccl::streams
#endif
