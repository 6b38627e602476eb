// pydl's CUDA emulation: the runtime API over host memory and a launch that runs each block
// as one fiber per thread (see include/cuda_runtime.h for what it is and is not).
//
// A block's fibers run one at a time, each until it reaches __syncthreads, a warp collective
// or its end; the earliest fiber that can run goes next, so warp 0 reaches the next barrier
// before warp 1 starts. The last thread to reach a barrier releases it; the last lane to reach
// a collective computes it for the whole warp. PYDL_EMU_SCHEDULE=reverse runs the fibers (and
// blocks) in the other order, =shuffle in a seeded random one: a result that changes with the
// order is a race between threads that no barrier orders.
#include <cuda_runtime.h>
#include <cxxabi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <string>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "emulator_state.h"

namespace pydl_emu {

uint3 g_thread_idx, g_block_idx;
dim3 g_block_dim, g_grid_dim;

namespace {

std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

// ---------------------------------------------------------------- fibers
constexpr size_t kStackBytes = 256 * 1024;
constexpr int kMaxThreads = 1024;

enum class State { runnable, at_barrier, in_collective, done };

struct CpAsync {
  void* dst;
  unsigned char bytes[16];
};

struct Fiber {
  void* sp = nullptr;
  State state = State::done;
  uint3 tid{};
  int linear = 0;
  void* collective_arg = nullptr;
  std::vector<CpAsync> open_group;
  std::vector<std::vector<CpAsync>> groups;  // committed, oldest first
};

struct WarpState {
  unsigned alive = 0;    // lanes that have not exited
  unsigned arrived = 0;  // lanes waiting in the pending collective
  unsigned mask = 0;
  Complete complete = nullptr;
};

}  // namespace
}  // namespace pydl_emu

extern "C" void pydl_emu_switch(void** save_sp, void* load_sp);
// Saves the callee-saved registers and the FP control words on the current stack, stores
// the stack pointer in *save_sp, and resumes the fiber whose stack pointer is load_sp.
asm(R"(
.text
.globl pydl_emu_switch
.type pydl_emu_switch,@function
pydl_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size pydl_emu_switch, .-pydl_emu_switch
)");

namespace pydl_emu {
namespace {

struct Block {
  int alive = 0;
  int at_barrier = 0;
  std::vector<Fiber> fibers;
  std::vector<WarpState> warps;
  void (*body)(void*) = nullptr;
  void* ctx = nullptr;
  bool failed = false;
};

Block g_block;
Fiber* g_current = nullptr;
// Where the scheduler goes on: a fiber made runnable again moves it back to that fiber.
size_t g_rescan_from = 0;
const std::vector<int>* g_position = nullptr;  // fiber -> its place in the schedule

void made_runnable(const Fiber& f) {
  if (g_position) g_rescan_from = std::min(g_rescan_from, size_t((*g_position)[size_t(f.linear)]));
}
void* g_scheduler_sp = nullptr;
std::vector<unsigned char> g_dynamic_smem;
std::vector<char*> g_stacks;

char* stack_top(int i) {
  while (int(g_stacks.size()) <= i) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    void* p = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      fprintf(stderr, "pydl CUDA emulation: cannot map a fiber stack\n");
      abort();
    }
    mprotect(p, page, PROT_NONE);  // a guard page below the stack
    g_stacks.push_back(static_cast<char*>(p) + page + kStackBytes);
  }
  return g_stacks[size_t(i)];
}

void yield_to_scheduler() { pydl_emu_switch(&g_current->sp, g_scheduler_sp); }

void check_barrier() {
  Block& b = g_block;
  if (b.at_barrier == 0 || b.at_barrier != b.alive) return;
  for (Fiber& f : b.fibers)
    if (f.state == State::at_barrier) {
      f.state = State::runnable;
      made_runnable(f);
    }
  b.at_barrier = 0;
}

void fail_block(const std::string& why) {
  record(cudaErrorLaunchFailure, why);
  g_block.failed = true;
}

void finish_collective(WarpState& w, int warp) {
  void* args[32] = {};
  for (int l = 0; l < 32; ++l)
    if (w.mask >> l & 1u) args[l] = g_block.fibers[size_t(warp * 32 + l)].collective_arg;
  const Complete complete = w.complete;
  const unsigned mask = w.mask;
  for (int l = 0; l < 32; ++l)
    if (w.arrived >> l & 1u) {
      Fiber& f = g_block.fibers[size_t(warp * 32 + l)];
      f.state = State::runnable;
      made_runnable(f);
    }
  w.arrived = 0;
  w.complete = nullptr;
  complete(args, mask);
}

// Not instrumented: its frame never returns, and a sanitizer's poisoned redzones left on the
// fiber stack would greet the next fiber that runs there.
__attribute__((no_sanitize_address)) void fiber_exit() {
  Fiber& f = *g_current;
  Block& b = g_block;
  f.state = State::done;
  --b.alive;
  WarpState& w = b.warps[size_t(f.linear / 32)];
  w.alive &= ~(1u << (f.linear % 32));
  if (w.complete && (w.mask & ~w.alive & ~w.arrived))
    fail_block(format("a warp collective names lane %d, which has exited (mask 0x%08x)", f.linear % 32, w.mask));
  check_barrier();
  if (!f.open_group.empty() || !f.groups.empty()) {
    // Copies still outstanding land anyway, as on a GPU (where the block waits for them).
    for (auto& g : f.groups)
      for (auto& c : g) memcpy(c.dst, c.bytes, 16);
    for (auto& c : f.open_group) memcpy(c.dst, c.bytes, 16);
    f.groups.clear();
    f.open_group.clear();
  }
  static void* dead_sp;
  pydl_emu_switch(&dead_sp, g_scheduler_sp);
  __builtin_unreachable();
}

__attribute__((no_sanitize_address)) void fiber_entry() {
  g_block.body(g_block.ctx);
  fiber_exit();
}

void* initial_sp(char* top) {
  // The return address sits at a 16-byte boundary, so fiber_entry starts as if called.
  auto* slot = reinterpret_cast<uint64_t*>((reinterpret_cast<uintptr_t>(top) - 16) & ~uintptr_t(15));
  slot[1] = 0;
  slot[0] = reinterpret_cast<uint64_t>(&fiber_entry);
  uint64_t* sp = slot - 7;  // six saved registers and the control words
  for (int i = 1; i < 7; ++i) sp[i] = 0;
  // Flush-to-zero and denormals-are-zero, as nvcc -ftz=true compiles pydl's kernels (CMakeLists.txt).
  // x86 has one switch for float32 and float64, so float64 denormals flush here too, which a GPU
  // does not do.
  const uint32_t mxcsr = 0x1f80 | 0x8040, fcw = 0x037f;
  memcpy(sp, &mxcsr, 4);
  memcpy(reinterpret_cast<char*>(sp) + 4, &fcw, 4);
  return sp;
}

enum class Order { forward, reverse, shuffle };
Order schedule_order() {
  static const Order order = [] {
    const char* v = getenv("PYDL_EMU_SCHEDULE");
    if (v && strcmp(v, "reverse") == 0) return Order::reverse;
    if (v && strcmp(v, "shuffle") == 0) return Order::shuffle;
    return Order::forward;
  }();
  return order;
}
std::mt19937_64 g_rng(12345);

void run_block(const dim3& block, std::vector<int>& order) {
  Block& b = g_block;
  const int n = int(block.x * block.y * block.z);
  b.alive = n;
  b.at_barrier = 0;
  b.fibers.assign(size_t(n), Fiber{});
  b.warps.assign(size_t((n + 31) / 32), WarpState{});
  for (int i = 0; i < n; ++i) {
    Fiber& f = b.fibers[size_t(i)];
    f.linear = i;
    f.tid = uint3{unsigned(i) % block.x, unsigned(i) / block.x % block.y, unsigned(i) / (block.x * block.y)};
    f.state = State::runnable;
    f.sp = initial_sp(stack_top(i));
    b.warps[size_t(i / 32)].alive |= 1u << (i % 32);
  }
  // Each fiber runs until it blocks; then the earliest fiber (in `order`) that can run goes
  // next. A warp thus runs all the way to the next barrier before the warps after it start:
  // the warps are as far apart as a GPU may ever place them, which exposes a shared-memory
  // race that only a lucky interleaving would hide.
  std::vector<int> position(order.size());
  auto place = [&] {
    if (schedule_order() == Order::shuffle) std::shuffle(order.begin(), order.end(), g_rng);
    for (size_t k = 0; k < order.size(); ++k) position[size_t(order[k])] = int(k);
  };
  place();
  g_position = &position;
  size_t k = 0;
  while (b.alive > 0 && !b.failed) {
    if (k == order.size()) {
      int runnable = 0, waiting_bar = 0, waiting_warp = 0;
      for (Fiber& f : b.fibers) {
        runnable += f.state == State::runnable;
        waiting_bar += f.state == State::at_barrier;
        waiting_warp += f.state == State::in_collective;
      }
      if (runnable == 0) {
        fail_block(format("deadlock: %d threads wait at __syncthreads and %d in warp collectives, %d have exited",
                          waiting_bar, waiting_warp, n - b.alive));
        break;
      }
      place();
      k = 0;
      continue;
    }
    Fiber& f = b.fibers[size_t(order[k])];
    if (f.state != State::runnable) {
      ++k;
      continue;
    }
    g_rescan_from = k + 1;
    g_current = &f;
    g_thread_idx = f.tid;
    pydl_emu_switch(&g_scheduler_sp, f.sp);
    g_current = nullptr;
    k = g_rescan_from;
  }
  g_position = nullptr;
}

std::mutex g_launch_mu;
std::unordered_map<std::type_index, int> g_max_dynamic_smem;

}  // namespace

// ---------------------------------------------------------------- device side
void sync_threads() {
  Fiber& f = *g_current;
  f.state = State::at_barrier;
  ++g_block.at_barrier;
  check_barrier();
  if (f.state != State::runnable) yield_to_scheduler();
}

void warp_collective(unsigned mask, void* my_arg, Complete complete) {
  Fiber& f = *g_current;
  const int lane = f.linear % 32, warp = f.linear / 32;
  WarpState& w = g_block.warps[size_t(warp)];
  if (!(mask >> lane & 1u)) {
    fail_block(format("thread %d joins a warp collective whose mask 0x%08x leaves its lane out", f.linear, mask));
    yield_to_scheduler();
  }
  if (mask & ~w.alive) {
    fail_block(format("a warp collective's mask 0x%08x names lanes that have exited or do not exist (alive 0x%08x)",
                      mask, w.alive));
    yield_to_scheduler();
  }
  if (w.complete && (w.complete != complete || w.mask != mask)) {
    fail_block(format("lanes of warp %d meet in different warp collectives (masks 0x%08x and 0x%08x)", warp, w.mask,
                      mask));
    yield_to_scheduler();
  }
  w.complete = complete;
  w.mask = mask;
  w.arrived |= 1u << lane;
  f.collective_arg = my_arg;
  f.state = State::in_collective;
  if (w.arrived == mask) finish_collective(w, warp);
  if (f.state != State::runnable) yield_to_scheduler();
}

void sync_warp(unsigned mask) {
  warp_collective(mask, nullptr, [](void* const*, unsigned) {});
}

[[noreturn]] void trap(const char* why) {
  record(cudaErrorLaunchFailure, format("%s in thread %d of block (%u, %u, %u)", why, g_current->linear,
                                        g_block_idx.x, g_block_idx.y, g_block_idx.z));
  g_block.failed = true;
  yield_to_scheduler();
  __builtin_unreachable();
}

unsigned char* dynamic_shared_memory() { return g_dynamic_smem.data(); }

namespace {
struct ShuffleArg {
  uint64_t value, result;
  int lane_arg, width;
  Shfl kind;
};
void shuffle_complete(void* const* args, unsigned mask) {
  for (int l = 0; l < 32; ++l) {
    if (!args[l]) continue;
    auto* a = static_cast<ShuffleArg*>(args[l]);
    const int w = a->width, base = l & ~(w - 1);
    int src = l;
    switch (a->kind) {
      case Shfl::idx: src = base + (a->lane_arg % w); break;
      case Shfl::up: src = (l - base) >= a->lane_arg ? l - a->lane_arg : l; break;
      case Shfl::down: src = (l - base) + a->lane_arg < w ? l + a->lane_arg : l; break;
      case Shfl::bfly: src = (l ^ a->lane_arg) < base + w ? (l ^ a->lane_arg) : l; break;
    }
    if (src < 0 || src > 31 || !(mask >> src & 1u)) {
      fail_block(format("lane %d shuffles from lane %d, which is not in the mask 0x%08x", l, src, mask));
      a->result = 0;
      continue;
    }
    a->result = static_cast<ShuffleArg*>(args[src])->value;
  }
}
}  // namespace

uint64_t shuffle(unsigned mask, uint64_t value, int lane_arg, int width, Shfl kind) {
  if (width <= 0 || width > 32 || (width & (width - 1))) trap("a shuffle width that is not a power of two up to 32");
  ShuffleArg a{value, 0, lane_arg, width, kind};
  warp_collective(mask, &a, shuffle_complete);
  return a.result;
}

unsigned ballot(unsigned mask, bool predicate) {
  struct Arg {
    bool p;
    unsigned result;
  } a{predicate, 0};
  warp_collective(mask, &a, [](void* const* args, unsigned) {
    unsigned bits = 0;
    for (int l = 0; l < 32; ++l)
      if (args[l] && static_cast<Arg*>(args[l])->p) bits |= 1u << l;
    for (int l = 0; l < 32; ++l)
      if (args[l]) static_cast<Arg*>(args[l])->result = bits;
  });
  return a.result;
}

// ---------------------------------------------------------------- tensor-core instructions
void cp_async16(void* smem, const void* gmem) {
  if ((reinterpret_cast<uintptr_t>(smem) | reinterpret_cast<uintptr_t>(gmem)) % 16)
    trap("cp.async of 16 bytes from or to an address that is not 16-byte aligned");
  CpAsync c;
  c.dst = smem;
  memcpy(c.bytes, gmem, 16);
  g_current->open_group.push_back(c);
}

void cp_async_commit() {
  Fiber& f = *g_current;
  f.groups.push_back(std::move(f.open_group));
  f.open_group.clear();
}

void cp_async_wait(int pending) {
  Fiber& f = *g_current;
  while (int(f.groups.size()) > pending) {
    for (auto& c : f.groups.front()) memcpy(c.dst, c.bytes, 16);
    f.groups.erase(f.groups.begin());
  }
}

namespace {
struct LdMatrixArg {
  const uint16_t* row;
  unsigned* out;
  bool trans;
};
void ldmatrix_complete(void* const* args, unsigned) {
  for (int l = 0; l < 32; ++l) {
    auto* a = static_cast<LdMatrixArg*>(args[l]);
    for (int m = 0; m < 4; ++m) {
      uint16_t lo, hi;
      if (!a->trans) {
        const uint16_t* row = static_cast<LdMatrixArg*>(args[m * 8 + l / 4])->row;
        lo = row[2 * (l % 4)];
        hi = row[2 * (l % 4) + 1];
      } else {
        lo = static_cast<LdMatrixArg*>(args[m * 8 + 2 * (l % 4)])->row[l / 4];
        hi = static_cast<LdMatrixArg*>(args[m * 8 + 2 * (l % 4) + 1])->row[l / 4];
      }
      a->out[m] = unsigned(lo) | unsigned(hi) << 16;
    }
  }
}

float half_to_float(uint16_t h) {
  const unsigned sign = unsigned(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0x1f) return __uint_as_float(sign | 0x7f800000u | (man << 13));
  if (exp == 0) return (sign ? -1.0f : 1.0f) * ldexpf(float(man), -24);
  return __uint_as_float(sign | ((exp + 112) << 23) | (man << 13));
}
float bf16_to_float(uint16_t h) { return __uint_as_float(unsigned(h) << 16); }

struct MmaArg {
  float* d;
  const unsigned* a;
  const unsigned* b;
  MmaInput type;
};
// The fragment layouts of mma.m16n8k8 (.tf32) and mma.m16n8k16 (.f16/.bf16), row.col, as the
// PTX ISA gives them: g = lane / 4, t = lane % 4.
void mma_complete(void* const* args, unsigned) {
  const MmaInput type = static_cast<MmaArg*>(args[0])->type;
  const int K = type == MmaInput::tf32 ? 8 : 16;
  double A[16][16] = {}, B[16][8] = {}, C[16][8];
  auto elem16 = [&](unsigned reg, int half) {
    const uint16_t h = uint16_t(reg >> (16 * half));
    return double(type == MmaInput::f16 ? half_to_float(h) : bf16_to_float(h));
  };
  for (int l = 0; l < 32; ++l) {
    const auto* x = static_cast<MmaArg*>(args[l]);
    if (x->type != type) trap("lanes of one mma disagree on its input type");
    const int g = l / 4, t = l % 4;
    if (type == MmaInput::tf32) {
      A[g][t] = __uint_as_float(x->a[0]);
      A[g + 8][t] = __uint_as_float(x->a[1]);
      A[g][t + 4] = __uint_as_float(x->a[2]);
      A[g + 8][t + 4] = __uint_as_float(x->a[3]);
      B[t][g] = __uint_as_float(x->b[0]);
      B[t + 4][g] = __uint_as_float(x->b[1]);
    } else {
      for (int h = 0; h < 2; ++h) {
        A[g][2 * t + h] = elem16(x->a[0], h);
        A[g + 8][2 * t + h] = elem16(x->a[1], h);
        A[g][2 * t + 8 + h] = elem16(x->a[2], h);
        A[g + 8][2 * t + 8 + h] = elem16(x->a[3], h);
        B[2 * t + h][g] = elem16(x->b[0], h);
        B[2 * t + 8 + h][g] = elem16(x->b[1], h);
      }
    }
    for (int e = 0; e < 4; ++e) C[g + (e >= 2 ? 8 : 0)][2 * t + (e & 1)] = x->d[e];
  }
  for (int l = 0; l < 32; ++l) {
    auto* x = static_cast<MmaArg*>(args[l]);
    const int g = l / 4, t = l % 4;
    for (int e = 0; e < 4; ++e) {
      const int r = g + (e >= 2 ? 8 : 0), c = 2 * t + (e & 1);
      double s = C[r][c];
      for (int k = 0; k < K; ++k) s += A[r][k] * B[k][c];
      x->d[e] = float(s);
    }
  }
}
}  // namespace

void ldmatrix_x4(unsigned (&r)[4], const void* row_address, bool trans) {
  if (reinterpret_cast<uintptr_t>(row_address) % 16) trap("ldmatrix row address that is not 16-byte aligned");
  LdMatrixArg a{static_cast<const uint16_t*>(row_address), r, trans};
  warp_collective(0xffffffffu, &a, ldmatrix_complete);
}

unsigned tf32_round(float x) {
  unsigned bits = __float_as_uint(x);
  if ((bits & 0x7f800000u) == 0x7f800000u) return bits;  // inf and NaN pass unchanged
  return (bits + 0x1000u) & ~0x1fffu;                     // nearest, ties away from zero
}

void mma_16x8(float (&d)[4], const unsigned* a, const unsigned* b, MmaInput type) {
  MmaArg arg{d, a, b, type};
  warp_collective(0xffffffffu, &arg, mma_complete);
}

// ---------------------------------------------------------------- launches
cudaError_t set_function_attribute(const std::type_info& params, cudaFuncAttribute attr, int value) {
  std::lock_guard<std::mutex> lock(g_launch_mu);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || value > 227 * 1024)
      return record(cudaErrorInvalidValue, format("cudaFuncSetAttribute: %d bytes of dynamic shared memory", value));
    int& opt_in = g_max_dynamic_smem[std::type_index(params)];
    opt_in = std::max(opt_in, value);
  }
  return cudaSuccess;
}

std::atomic<uint64_t> g_launches{0};

void run_grid(const LaunchConfig& cfg, const std::type_info& params, const std::type_info& launcher,
              void (*body)(void*), void* ctx) {
  run_queued_copies();  // the stream's earlier work comes first
  std::lock_guard<std::mutex> lock(g_launch_mu);
  ++g_launches;
  static const bool trace = getenv("PYDL_EMU_TRACE") != nullptr;
  if (trace) {
    int status = 0;
    char* name = abi::__cxa_demangle(launcher.name(), nullptr, nullptr, &status);
    fprintf(stderr, "pydl CUDA emulation: launch %llu grid (%u, %u, %u) block (%u, %u, %u) from %s\n",
            (unsigned long long)g_launches, cfg.grid.x, cfg.grid.y, cfg.grid.z, cfg.block.x, cfg.block.y,
            cfg.block.z, status == 0 ? name : launcher.name());
    free(name);
  }
  const dim3 g = cfg.grid, b = cfg.block;
  const uint64_t threads = uint64_t(b.x) * b.y * b.z;
  if (g.x == 0 || g.y == 0 || g.z == 0 || threads == 0 || g.x > 2147483647u || g.y > 65535 || g.z > 65535 ||
      b.x > 1024 || b.y > 1024 || b.z > 64 || threads > kMaxThreads) {
    record(cudaErrorInvalidConfiguration,
           format("launch with grid (%u, %u, %u) and block (%u, %u, %u)", g.x, g.y, g.z, b.x, b.y, b.z));
    return;
  }
  if (cfg.smem > 48 * 1024) {
    auto it = g_max_dynamic_smem.find(std::type_index(params));
    if (it == g_max_dynamic_smem.end() || size_t(it->second) < cfg.smem) {
      record(cudaErrorInvalidValue, format("launch with %zu bytes of dynamic shared memory and an opt-in of %d",
                                           cfg.smem, it == g_max_dynamic_smem.end() ? 48 * 1024 : it->second));
      return;
    }
  }
  g_dynamic_smem.assign(cfg.smem, 0xcd);  // garbage, as on a GPU; exactly the size asked for
  g_grid_dim = g;
  g_block_dim = b;
  g_block.body = body;
  g_block.ctx = ctx;
  g_block.failed = false;

  std::vector<int> order(threads);
  for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
  if (schedule_order() == Order::reverse) std::reverse(order.begin(), order.end());
  const uint64_t blocks = uint64_t(g.x) * g.y * g.z;
  for (uint64_t k = 0; k < blocks && !g_block.failed; ++k) {
    const uint64_t i = schedule_order() == Order::reverse ? blocks - 1 - k : k;
    g_block_idx = uint3{unsigned(i % g.x), unsigned(i / g.x % g.y), unsigned(i / (uint64_t(g.x) * g.y))};
    run_block(b, order);
  }
}

}  // namespace pydl_emu
