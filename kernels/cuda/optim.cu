// Multi-tensor optimizer updates on CUDA (see optim.h). A launch covers the chunks of
// its tensors: block b finds its tensor by the table's chunk prefix sums (at most 48
// entries, the same for the whole block), then its threads update the chunk's elements
// with the rule of kernels/common/optim.h on plain scalars.
#include "kernels/cuda/optim.h"

#include <type_traits>
#include <vector>

#include "kernels/cuda/device_utils.h"

namespace pydl::cuda_kernels {

namespace {

using namespace ::pydl::kernels;

constexpr int kSlots = kOptimSlotsPerLaunch;
constexpr int64_t kChunk = 4096;  // elements per block: 16 per thread

struct SlotPtrs {
  void* param;
  const void* grad;
  void* state[3];
  int64_t numel;
};

struct Table {
  SlotPtrs slot[kSlots];
  int chunk_start[kSlots + 1];  // prefix sums of each tensor's chunk count
  int count;
};
// Kernel parameters must stay within 4 KB (with the rule's scalars beside the table).
static_assert(sizeof(Table) <= 3200, "optimizer table too large for a kernel parameter");

// kStates: bit k set when state[k] is read and written.
template <unsigned kStates, class T, class Rule>
__global__ void __launch_bounds__(kBlock) multi_tensor_kernel(const Table table, const Rule rule) {
  int k = 0;
  while (k + 1 < table.count && table.chunk_start[k + 1] <= int(blockIdx.x)) ++k;
  const SlotPtrs& sl = table.slot[k];
  const int64_t lo = int64_t(int(blockIdx.x) - table.chunk_start[k]) * kChunk;
  const int64_t hi = lo + kChunk < sl.numel ? lo + kChunk : sl.numel;
  T* p = static_cast<T*>(sl.param);
  const T* g = static_cast<const T*>(sl.grad);
  T* s0 = static_cast<T*>(sl.state[0]);
  T* s1 = static_cast<T*>(sl.state[1]);
  T* s2 = static_cast<T*>(sl.state[2]);
  for (int64_t i = lo + threadIdx.x; i < hi; i += blockDim.x) update_element<kStates>(rule, p, g, s0, s1, s2, i);
}

// The rules as functors (device lambdas would need --extended-lambda).
template <bool kWd, SgdMode kMode, bool kInit, class T>
struct SgdRule {
  SgdScalars<T> s;
  __device__ __forceinline__ void operator()(T& p, T g, T& buf, T&, T&) const {
    sgd_update<kWd, kMode, kInit>(p, g, buf, s);
  }
};
template <AdamDecay kDecay, bool kAms, class T>
struct AdamRule {
  AdamScalars<T> s;
  __device__ __forceinline__ void operator()(T& p, T g, T& m, T& v, T& vmax) const {
    adam_update<kDecay, kAms>(p, g, m, v, vmax, s);
  }
};
template <bool kWd, bool kCentered, bool kMomentum, class T>
struct RmspropRule {
  RmspropScalars<T> s;
  __device__ __forceinline__ void operator()(T& p, T g, T& sq, T& buf, T& ga) const {
    rmsprop_update<kWd, kCentered, kMomentum>(p, g, sq, buf, ga, s);
  }
};
template <bool kWd, class T>
struct AdagradRule {
  AdagradScalars<T> s;
  __device__ __forceinline__ void operator()(T& p, T g, T& sum, T&, T&) const { adagrad_update<kWd>(p, g, sum, s); }
};
template <bool kWd, class T>
struct AdadeltaRule {
  AdadeltaScalars<T> s;
  __device__ __forceinline__ void operator()(T& p, T g, T& sq, T& acc, T&) const {
    adadelta_update<kWd>(p, g, sq, acc, s);
  }
};

// Calls launch(first, end) for each run of slots that may share a launch: consecutive
// in the list, same dtype and step (and init flag), at most kSlots of them. Empty
// tensors are skipped.
template <class Launch>
void for_each_batch(const OptimSlot* slots, int64_t count, bool split_init, Launch launch) {
  std::vector<const OptimSlot*> batch;
  auto flush = [&] {
    if (!batch.empty()) launch(batch);
    batch.clear();
  };
  for (int64_t i = 0; i < count; ++i) {
    const OptimSlot& s = slots[i];
    if (s.numel <= 0) continue;
    if (!batch.empty()) {
      const OptimSlot& f = *batch.front();
      if (f.dtype != s.dtype || f.step != s.step || (split_init && f.init != s.init) ||
          int(batch.size()) == kSlots)
        flush();
    }
    batch.push_back(&s);
  }
  flush();
}

template <unsigned kStates, class T, class Rule>
void launch_batch(const std::vector<const OptimSlot*>& batch, const Rule& rule, cudaStream_t stream,
                  LaunchCheck check, const char* name) {
  Table t{};
  t.count = static_cast<int>(batch.size());
  t.chunk_start[0] = 0;
  for (int k = 0; k < t.count; ++k) {
    const OptimSlot& s = *batch[k];
    t.slot[k] = SlotPtrs{s.param, s.grad, {s.state[0], s.state[1], s.state[2]}, s.numel};
    t.chunk_start[k + 1] = t.chunk_start[k] + static_cast<int>((s.numel + kChunk - 1) / kChunk);
  }
  // Tensors beyond 2^31 chunks do not exist in practice; grid.x allows 2^31 - 1 blocks.
  multi_tensor_kernel<kStates, T><<<static_cast<unsigned>(t.chunk_start[t.count]), kBlock, 0, stream>>>(t, rule);
  check(name);
}

template <class Fn>
void with_flag(bool flag, Fn fn) {
  if (flag) fn(std::true_type{});
  else fn(std::false_type{});
}

}  // namespace

void sgd(const SgdHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check) {
  const SgdMode mode = h.momentum == 0 ? SgdMode::Plain : h.nesterov ? SgdMode::Nesterov : SgdMode::Momentum;
  cudaStream_t st = as_stream(stream);
  for_each_batch(slots, count, true, [&](const std::vector<const OptimSlot*>& batch) {
    PYDL_DISPATCH_FLOAT(batch.front()->dtype, T, {
      const auto s = sgd_scalars<T>(h);
      with_flag(h.weight_decay != 0, [&](auto wd) {
        with_flag(batch.front()->init, [&](auto init) {
          constexpr bool kWd = decltype(wd)::value, kInit = decltype(init)::value;
          if (mode == SgdMode::Plain)
            launch_batch<0u, T>(batch, SgdRule<kWd, SgdMode::Plain, kInit, T>{s}, st, check, "pydl_sgd");
          else if (mode == SgdMode::Momentum)
            launch_batch<1u, T>(batch, SgdRule<kWd, SgdMode::Momentum, kInit, T>{s}, st, check, "pydl_sgd_momentum");
          else
            launch_batch<1u, T>(batch, SgdRule<kWd, SgdMode::Nesterov, kInit, T>{s}, st, check, "pydl_sgd_nesterov");
        });
      });
    });
  });
}

void adam(const AdamHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check) {
  const AdamDecay decay = h.weight_decay == 0      ? AdamDecay::None
                          : h.decoupled_weight_decay ? AdamDecay::Decoupled
                                                     : AdamDecay::L2;
  cudaStream_t st = as_stream(stream);
  for_each_batch(slots, count, false, [&](const std::vector<const OptimSlot*>& batch) {
    PYDL_DISPATCH_FLOAT(batch.front()->dtype, T, {
      const auto s = adam_scalars<T>(h, batch.front()->step);
      with_flag(h.amsgrad, [&](auto ams) {
        constexpr bool kAms = decltype(ams)::value;
        constexpr unsigned kStates = kAms ? 7u : 3u;
        if (decay == AdamDecay::None)
          launch_batch<kStates, T>(batch, AdamRule<AdamDecay::None, kAms, T>{s}, st, check, "pydl_adam");
        else if (decay == AdamDecay::L2)
          launch_batch<kStates, T>(batch, AdamRule<AdamDecay::L2, kAms, T>{s}, st, check, "pydl_adam");
        else
          launch_batch<kStates, T>(batch, AdamRule<AdamDecay::Decoupled, kAms, T>{s}, st, check, "pydl_adamw");
      });
    });
  });
}

void rmsprop(const RmspropHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check) {
  cudaStream_t st = as_stream(stream);
  for_each_batch(slots, count, false, [&](const std::vector<const OptimSlot*>& batch) {
    PYDL_DISPATCH_FLOAT(batch.front()->dtype, T, {
      const auto s = rmsprop_scalars<T>(h);
      with_flag(h.weight_decay != 0, [&](auto wd) {
        with_flag(h.centered, [&](auto centered) {
          with_flag(h.momentum > 0, [&](auto mom) {
            constexpr bool kWd = decltype(wd)::value, kC = decltype(centered)::value, kM = decltype(mom)::value;
            launch_batch<1u | (kM ? 2u : 0u) | (kC ? 4u : 0u), T>(batch, RmspropRule<kWd, kC, kM, T>{s}, st, check,
                                                                   "pydl_rmsprop");
          });
        });
      });
    });
  });
}

void adagrad(const AdagradHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check) {
  cudaStream_t st = as_stream(stream);
  for_each_batch(slots, count, false, [&](const std::vector<const OptimSlot*>& batch) {
    PYDL_DISPATCH_FLOAT(batch.front()->dtype, T, {
      const auto s = adagrad_scalars<T>(h, batch.front()->step);
      with_flag(h.weight_decay != 0, [&](auto wd) {
        launch_batch<1u, T>(batch, AdagradRule<decltype(wd)::value, T>{s}, st, check, "pydl_adagrad");
      });
    });
  });
}

void adadelta(const AdadeltaHyper& h, const OptimSlot* slots, int64_t count, void* stream, LaunchCheck check) {
  cudaStream_t st = as_stream(stream);
  for_each_batch(slots, count, false, [&](const std::vector<const OptimSlot*>& batch) {
    PYDL_DISPATCH_FLOAT(batch.front()->dtype, T, {
      const auto s = adadelta_scalars<T>(h);
      with_flag(h.weight_decay != 0, [&](auto wd) {
        launch_batch<3u, T>(batch, AdadeltaRule<decltype(wd)::value, T>{s}, st, check, "pydl_adadelta");
      });
    });
  });
}

}  // namespace pydl::cuda_kernels
