// Optimizer updates on the CPU: the rules of kernels/common/optim.h run over a list of
// tensors in one call. The elements of all the tensors are split evenly over the threads
// as one range (so a model of many small tensors wakes the team once, and one large
// tensor still uses every core); each thread walks its range slot by slot.
//
// Why a hand-made SIMD pack instead of letting the compiler vectorize the scalar rule:
// sqrt may set errno (the build keeps -fmath-errno), and a loop that may call it is never
// vectorized by GCC. The pack's sqrt is the SSE2 instruction, which never touches errno;
// the rule itself is the same template, run on 16-byte packs and then on the scalar tail.
// These loops are memory-bound (Adam reads 4 and writes 3 values per element), so 16-byte
// vectors are enough to reach the bandwidth limit.
#include "kernels/cpu/optim.h"

#include <string.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernels/cpu/parallel.h"

namespace pydl::cpu {

namespace {

using kernels::parallel_ranges;

// ---------------------------------------------------------------- a 16-byte SIMD pack
template <class T>
struct Pack {
  typedef T Raw __attribute__((vector_size(16)));
  static constexpr int kLanes = 16 / sizeof(T);
  Raw v;

  static Pack load(const T* p) {
    Pack r;
    memcpy(&r.v, p, sizeof(Raw));
    return r;
  }
  void store(T* p) const { memcpy(p, &v, sizeof(Raw)); }
};

#define PYDL_PACK_OP(op)                                                                          \
  template <class T> inline Pack<T> operator op(Pack<T> a, Pack<T> b) { return {a.v op b.v}; }   \
  template <class T> inline Pack<T> operator op(Pack<T> a, T b) { return {a.v op b}; }           \
  template <class T> inline Pack<T> operator op(T a, Pack<T> b) { return {a op b.v}; }
PYDL_PACK_OP(+)
PYDL_PACK_OP(-)
PYDL_PACK_OP(*)
PYDL_PACK_OP(/)
#undef PYDL_PACK_OP

template <class T>
inline Pack<T> optim_sqrt(Pack<T> x) {
#if defined(__SSE2__)
  if constexpr (std::is_same<T, float>::value) return {_mm_sqrt_ps(x.v)};
  else return {_mm_sqrt_pd(x.v)};
#else
  for (int l = 0; l < Pack<T>::kLanes; ++l) x.v[l] = kernels::optim_sqrt(x.v[l]);
  return x;
#endif
}

// torch.maximum: NaN propagates.
template <class T>
inline Pack<T> optim_max(Pack<T> a, Pack<T> b) {
  typename Pack<T>::Raw r = a.v > b.v ? a.v : b.v;
  r = b.v != b.v ? b.v : r;
  return {a.v != a.v ? a.v : r};
}

template <class T>
inline Pack<T> optim_centered_var(Pack<T> sq, Pack<T> ga) {  // see kernels/common/optim.h
  const typename Pack<T>::Raw r = sq.v - ga.v * ga.v;
  const auto fix = (r != r) & (sq.v == T(INFINITY)) & (ga.v - ga.v == T(0));
  return {fix ? sq.v : r};
}

// ---------------------------------------------------------------- loops
// Runs rule(p, g, s0, s1, s2) on elements [begin, end) of one slot: packs, then the scalar
// tail. Bit i of kStates says that state[i] is read and written; the others are dummies.
template <unsigned kStates, class T, class Rule>
void run_slot(const OptimSlot& slot, int64_t begin, int64_t end, Rule rule) {
  T* __restrict p = static_cast<T*>(slot.param);
  const T* __restrict g = static_cast<const T*>(slot.grad);
  T* __restrict s0 = static_cast<T*>(slot.state[0]);
  T* __restrict s1 = static_cast<T*>(slot.state[1]);
  T* __restrict s2 = static_cast<T*>(slot.state[2]);
  using P = Pack<T>;
  int64_t i = begin;
  for (; i + P::kLanes <= end; i += P::kLanes) {
    P pv = P::load(p + i), a{}, b{}, c{};
    if constexpr (kStates & 1u) a = P::load(s0 + i);
    if constexpr (kStates & 2u) b = P::load(s1 + i);
    if constexpr (kStates & 4u) c = P::load(s2 + i);
    rule(pv, P::load(g + i), a, b, c);
    pv.store(p + i);
    if constexpr (kStates & 1u) a.store(s0 + i);
    if constexpr (kStates & 2u) b.store(s1 + i);
    if constexpr (kStates & 4u) c.store(s2 + i);
  }
  for (; i < end; ++i) kernels::update_element<kStates>(rule, p, g, s0, s1, s2, i);
}

// Calls body(slot, begin, end) on pieces of the slots so that the threads share the total
// number of elements evenly. `work` is a rough cost per element (parallel_ranges' grain).
template <class Body>
void for_each_piece(const OptimSlot* slots, int64_t count, int64_t work, Body body) {
  std::vector<int64_t> start(count + 1, 0);
  for (int64_t k = 0; k < count; ++k) start[k + 1] = start[k] + slots[k].numel;
  parallel_ranges(start[count], work, [&](int64_t b, int64_t e) {
    int64_t k = std::upper_bound(start.begin(), start.end(), b) - start.begin() - 1;
    for (; k < count && start[k] < e; ++k) {
      const int64_t lo = std::max(b, start[k]) - start[k], hi = std::min(e, start[k + 1]) - start[k];
      if (lo < hi) body(slots[k], lo, hi);
    }
  });
}

// Turns a run-time flag into a compile-time one: fn(std::true_type{}) or fn(std::false_type{}).
template <class Fn>
void with_flag(bool flag, Fn fn) {
  if (flag) fn(std::true_type{});
  else fn(std::false_type{});
}

}  // namespace

// ---------------------------------------------------------------- entry points
void sgd(const SgdHyper& h, const OptimSlot* slots, int64_t count) {
  using kernels::SgdMode;
  const SgdMode mode = h.momentum == 0 ? SgdMode::Plain : h.nesterov ? SgdMode::Nesterov : SgdMode::Momentum;
  for_each_piece(slots, count, 2, [&](const OptimSlot& slot, int64_t b, int64_t e) {
    PYDL_DISPATCH_FLOAT(slot.dtype, T, {
      const auto s = kernels::sgd_scalars<T>(h);
      with_flag(h.weight_decay != 0, [&](auto wd) {
        with_flag(slot.init, [&](auto init) {
          auto run = [&](auto kmode) {
            constexpr SgdMode m = decltype(kmode)::value;
            run_slot<m == SgdMode::Plain ? 0u : 1u, T>(slot, b, e, [&](auto& p, auto g, auto& buf, auto&, auto&) {
              kernels::sgd_update<decltype(wd)::value, m, decltype(init)::value>(p, g, buf, s);
            });
          };
          if (mode == SgdMode::Plain) run(std::integral_constant<SgdMode, SgdMode::Plain>{});
          else if (mode == SgdMode::Momentum) run(std::integral_constant<SgdMode, SgdMode::Momentum>{});
          else run(std::integral_constant<SgdMode, SgdMode::Nesterov>{});
        });
      });
    });
  });
}

void adam(const AdamHyper& h, const OptimSlot* slots, int64_t count) {
  using kernels::AdamDecay;
  const AdamDecay decay = h.weight_decay == 0      ? AdamDecay::None
                          : h.decoupled_weight_decay ? AdamDecay::Decoupled
                                                     : AdamDecay::L2;
  for_each_piece(slots, count, 4, [&](const OptimSlot& slot, int64_t b, int64_t e) {
    PYDL_DISPATCH_FLOAT(slot.dtype, T, {
      const auto s = kernels::adam_scalars<T>(h, slot.step);
      with_flag(h.amsgrad, [&](auto ams) {
        constexpr bool kAms = decltype(ams)::value;
        auto run = [&](auto kdecay) {
          run_slot<kAms ? 7u : 3u, T>(slot, b, e, [&](auto& p, auto g, auto& m, auto& v, auto& vmax) {
            kernels::adam_update<decltype(kdecay)::value, kAms>(p, g, m, v, vmax, s);
          });
        };
        if (decay == AdamDecay::None) run(std::integral_constant<AdamDecay, AdamDecay::None>{});
        else if (decay == AdamDecay::L2) run(std::integral_constant<AdamDecay, AdamDecay::L2>{});
        else run(std::integral_constant<AdamDecay, AdamDecay::Decoupled>{});
      });
    });
  });
}

void rmsprop(const RmspropHyper& h, const OptimSlot* slots, int64_t count) {
  for_each_piece(slots, count, 4, [&](const OptimSlot& slot, int64_t b, int64_t e) {
    PYDL_DISPATCH_FLOAT(slot.dtype, T, {
      const auto s = kernels::rmsprop_scalars<T>(h);
      with_flag(h.weight_decay != 0, [&](auto wd) {
        with_flag(h.centered, [&](auto centered) {
          with_flag(h.momentum > 0, [&](auto mom) {
            constexpr bool kC = decltype(centered)::value, kM = decltype(mom)::value;
            run_slot<1u | (kM ? 2u : 0u) | (kC ? 4u : 0u), T>(
                slot, b, e, [&](auto& p, auto g, auto& sq, auto& buf, auto& ga) {
                  kernels::rmsprop_update<decltype(wd)::value, kC, kM>(p, g, sq, buf, ga, s);
                });
          });
        });
      });
    });
  });
}

void adagrad(const AdagradHyper& h, const OptimSlot* slots, int64_t count) {
  for_each_piece(slots, count, 3, [&](const OptimSlot& slot, int64_t b, int64_t e) {
    PYDL_DISPATCH_FLOAT(slot.dtype, T, {
      const auto s = kernels::adagrad_scalars<T>(h, slot.step);
      with_flag(h.weight_decay != 0, [&](auto wd) {
        run_slot<1u, T>(slot, b, e, [&](auto& p, auto g, auto& sum, auto&, auto&) {
          kernels::adagrad_update<decltype(wd)::value>(p, g, sum, s);
        });
      });
    });
  });
}

void adadelta(const AdadeltaHyper& h, const OptimSlot* slots, int64_t count) {
  for_each_piece(slots, count, 4, [&](const OptimSlot& slot, int64_t b, int64_t e) {
    PYDL_DISPATCH_FLOAT(slot.dtype, T, {
      const auto s = kernels::adadelta_scalars<T>(h);
      with_flag(h.weight_decay != 0, [&](auto wd) {
        run_slot<3u, T>(slot, b, e, [&](auto& p, auto g, auto& sq, auto& acc, auto&) {
          kernels::adadelta_update<decltype(wd)::value>(p, g, sq, acc, s);
        });
      });
    });
  });
}

}  // namespace pydl::cpu
