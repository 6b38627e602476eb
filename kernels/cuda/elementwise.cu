// Elementwise kernels on CUDA: one generic map over 0-3 inputs, in two forms, the one
// engine of the pointwise (unary) family, forward and backward, and of the binary family.
//  - contiguous: every operand is contiguous, a by-value scalar or a one-element
//    device broadcast; grid-stride over packs of 16 bytes (128-bit loads/stores)
//    when the pointers allow it, element by element otherwise;
//  - strided: any StridedLoop (broadcast dims have stride 0); each element's byte
//    offsets are decoded from its linear index, in 32-bit arithmetic (FastDiv) when
//    every offset fits an int, in 64-bit otherwise.
// Compiled with --fmad=false (CMakeLists.txt; -ffp-contract=off in the emulation): the
// pointwise family gives the CPU's bits (see kernels/common/pointwise_math.h).
// unary.h compares unsigned values with zero for uint8 (harmless): keep nvcc quiet about it.
#pragma nv_diag_suppress 186
#include "kernels/cuda/elementwise.h"

#include <algorithm>

#include "kernels/common/half.h"
#include "kernels/cuda/device_utils.h"
#include "kernels/cuda/index_math.cuh"

namespace pydl::cuda_kernels {

namespace {

using namespace ::pydl::kernels;

enum SrcMode : int { kContig = 0, kValue = 1, kBroadcast = 2 };

// One input operand as the kernels see it.
template <class T>
struct Src {
  const T* p = nullptr;  // device data (kContig: element i at p[i]; kBroadcast: p[0] for all)
  T value{};             // kValue: the host scalar
  int mode = kContig;
};

template <class T, int VEC>
struct alignas(sizeof(T) * VEC) Pack {
  T v[VEC];
};

template <int VEC, class T>
__device__ __forceinline__ void load(const Src<T>& s, int64_t i, T (&out)[VEC]) {
  if (s.mode == kContig) {
    if constexpr (VEC > 1) {
      const Pack<T, VEC> pk = *reinterpret_cast<const Pack<T, VEC>*>(s.p + i);
#pragma unroll
      for (int k = 0; k < VEC; ++k) out[k] = pk.v[k];
    } else {
      out[0] = s.p[i];
    }
  } else {
    const T v = s.mode == kValue ? s.value : *s.p;
#pragma unroll
    for (int k = 0; k < VEC; ++k) out[k] = v;
  }
}

template <int NIN, class Tout, class TA, class TB, class TC, class F>
__device__ __forceinline__ Tout apply(const F& f, TA a, TB b, TC c) {
  if constexpr (NIN == 0) return f();
  else if constexpr (NIN == 1) return static_cast<Tout>(f(a));
  else if constexpr (NIN == 2) return static_cast<Tout>(f(a, b));
  else return static_cast<Tout>(f(a, b, c));
}

template <int NIN, int VEC, class Tout, class TA, class TB, class TC, class F>
__global__ void __launch_bounds__(kBlock)
    map_contig_kernel(Tout* __restrict__ out, Src<TA> a, Src<TB> b, Src<TC> c, int64_t n, F f) {
  const int64_t nvec = n / VEC;
  for (int64_t v = global_thread(); v < nvec; v += grid_threads()) {
    const int64_t i = v * VEC;
    TA av[VEC] = {};
    TB bv[VEC] = {};
    TC cv[VEC] = {};
    if constexpr (NIN >= 1) load<VEC>(a, i, av);
    if constexpr (NIN >= 2) load<VEC>(b, i, bv);
    if constexpr (NIN >= 3) load<VEC>(c, i, cv);
    Pack<Tout, VEC> o;
#pragma unroll
    for (int k = 0; k < VEC; ++k) o.v[k] = apply<NIN, Tout, TA, TB, TC>(f, av[k], bv[k], cv[k]);
    *reinterpret_cast<Pack<Tout, VEC>*>(out + i) = o;
  }
  for (int64_t i = nvec * VEC + global_thread(); i < n; i += grid_threads()) {  // the tail
    TA av[1] = {};
    TB bv[1] = {};
    TC cv[1] = {};
    if constexpr (NIN >= 1) load<1>(a, i, av);
    if constexpr (NIN >= 2) load<1>(b, i, bv);
    if constexpr (NIN >= 3) load<1>(c, i, cv);
    out[i] = apply<NIN, Tout, TA, TB, TC>(f, av[0], bv[0], cv[0]);
  }
}

// The byte offsets of a loop's NOPS operands at element i, decoded from i innermost
// dimension first; the outermost takes what is left of i, with no division.
template <int NOPS, class Index>
struct Offsets {
  int ndim;
  Divisor<Index> size[kMaxDims];  // innermost first
  Index stride[kMaxDims][NOPS];

  __device__ __forceinline__ void at(Index i, Index (&off)[NOPS]) const {
#pragma unroll
    for (int k = 0; k < NOPS; ++k) off[k] = 0;
    for (int d = 0; d < ndim; ++d) {
      const Index c = d + 1 < ndim ? split_coord(i, size[d]) : i;
#pragma unroll
      for (int k = 0; k < NOPS; ++k) off[k] += c * stride[d][k];
    }
  }
};

template <int NOPS, class Index>
Offsets<NOPS, Index> offsets(const StridedLoop& L) {
  Offsets<NOPS, Index> o;
  o.ndim = L.ndim;
  for (int d = 0; d < L.ndim; ++d) {
    const int src = L.ndim - 1 - d;
    o.size[d] = make_divisor<Index>(L.shape[src]);
    for (int k = 0; k < NOPS; ++k) o.stride[d][k] = static_cast<Index>(L.strides[k][src]);
  }
  return o;
}

// Whether the element count and every byte offset of the first nops operands fit an int
// (csrc/ has already merged the dims that every operand steps through as one).
bool fits_int32(const StridedLoop& L, int nops) {
  if (L.numel() > kInt32Max) return false;
  for (int k = 0; k < nops; ++k) {
    int64_t reach = 0;
    for (int d = 0; d < L.ndim; ++d) {
      const int64_t stride = L.strides[k][d] < 0 ? -L.strides[k][d] : L.strides[k][d];
      if (stride > kInt32Max) return false;
      reach += (L.shape[d] - 1) * stride;
      if (reach > kInt32Max) return false;
    }
  }
  return true;
}

template <class T, class Index>
__device__ __forceinline__ T load_strided(const Src<T>& s, Index off) {
  return s.mode == kValue ? s.value : *reinterpret_cast<const T*>(reinterpret_cast<const char*>(s.p) + off);
}

template <int NIN, class Index, class Tout, class TA, class TB, class TC, class F>
__global__ void __launch_bounds__(kBlock) map_strided_kernel(Offsets<NIN + 1, Index> offs, char* __restrict__ out,
                                                             Src<TA> a, Src<TB> b, Src<TC> c, int64_t n, F f) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    Index off[NIN + 1];
    offs.at(static_cast<Index>(i), off);
    TA av{};
    TB bv{};
    TC cv{};
    if constexpr (NIN >= 1) av = load_strided(a, off[1]);
    if constexpr (NIN >= 2) bv = load_strided(b, off[2]);
    if constexpr (NIN >= 3) cv = load_strided(c, off[3]);
    *reinterpret_cast<Tout*>(out + off[0]) = apply<NIN, Tout, TA, TB, TC>(f, av, bv, cv);
  }
}

// Describes input operand k (1-based) of the loop for the kernels; sets `contig` false
// when it rules out the contiguous path.
template <class T>
Src<T> make_src(const StridedLoop& L, int k, const HostScalar& hs, bool& contig) {
  Src<T> s;
  if (hs.index == k) {
    s.mode = kValue;
    memcpy(&s.value, hs.bytes, sizeof(T));
    return s;
  }
  s.p = reinterpret_cast<const T*>(L.data[k]);
  const int64_t stride = L.ndim == 0 ? int64_t(sizeof(T)) : L.strides[k][0];
  if (L.ndim > 1) contig = false;
  else if (stride == 0) s.mode = kBroadcast;
  else if (stride != int64_t(sizeof(T))) contig = false;
  return s;
}

template <class T>
bool aligned_for(const Src<T>& s, int vec) {
  return s.mode != kContig || reinterpret_cast<uintptr_t>(s.p) % (sizeof(T) * vec) == 0;
}

template <class T>
constexpr size_t size_of() { return std::is_same<T, char>::value ? 1 : sizeof(T); }

template <int NIN, class Tout, class TA, class TB, class TC, class F>
void launch_map(const StridedLoop& L, const HostScalar& hs, F f, void* stream, LaunchCheck check,
                const char* contig_name, const char* strided_name) {
  const int64_t n = L.numel();
  if (n == 0) return;
  bool contig = L.ndim <= 1 && (L.ndim == 0 || L.strides[0][0] == int64_t(sizeof(Tout)));
  Src<TA> a;
  Src<TB> b;
  Src<TC> c;
  if constexpr (NIN >= 1) a = make_src<TA>(L, 1, hs, contig);
  if constexpr (NIN >= 2) b = make_src<TB>(L, 2, hs, contig);
  if constexpr (NIN >= 3) c = make_src<TC>(L, 3, hs, contig);
  cudaStream_t s = as_stream(stream);
  if (contig) {
    constexpr size_t widest = std::max(std::max(sizeof(Tout), size_of<TA>()), std::max(size_of<TB>(), size_of<TC>()));
    constexpr int kVec = static_cast<int>(16 / widest);
    Tout* out = reinterpret_cast<Tout*>(L.data[0]);
    const bool vec_ok = kVec > 1 && reinterpret_cast<uintptr_t>(out) % (sizeof(Tout) * kVec) == 0 &&
                        aligned_for(a, kVec) && aligned_for(b, kVec) && aligned_for(c, kVec);
    if (vec_ok) {
      map_contig_kernel<NIN, kVec, Tout, TA, TB, TC, F><<<grid_for((n + kVec - 1) / kVec), kBlock, 0, s>>>(out, a, b, c, n, f);
    } else {
      map_contig_kernel<NIN, 1, Tout, TA, TB, TC, F><<<grid_for(n), kBlock, 0, s>>>(out, a, b, c, n, f);
    }
    check(contig_name);
    return;
  }
  if (fits_int32(L, NIN + 1)) {
    map_strided_kernel<NIN, int, Tout, TA, TB, TC, F>
        <<<grid_for(n), kBlock, 0, s>>>(offsets<NIN + 1, int>(L), L.data[0], a, b, c, n, f);
  } else {
    map_strided_kernel<NIN, int64_t, Tout, TA, TB, TC, F>
        <<<grid_for(n), kBlock, 0, s>>>(offsets<NIN + 1, int64_t>(L), L.data[0], a, b, c, n, f);
  }
  check(strided_name);
}

template <class To, class From>
struct CastF {
  __device__ __forceinline__ To operator()(From x) const { return cast_value<To, From>(x); }
};

// Casts with a half on either side go through float32 (kernels/common/half.h).
template <class To, class From>
struct HalfCastF {
  __device__ __forceinline__ To operator()(From x) const { return half_cast<To>(x); }
};

// A pointwise functor's two directions as plain callables for the map.
template <class Op>
struct Forward {
  Op op;
  template <class T>
  __device__ __forceinline__ T operator()(T x) const { return op.forward(x); }
};
template <class Op>
struct Backward {
  Op op;
  template <class T>
  __device__ __forceinline__ T operator()(T dy, T v) const { return op.backward(dy, v); }
};

template <class T>
struct ConstF {
  T v;
  __device__ __forceinline__ T operator()() const { return v; }
};

template <class T>
__global__ void __launch_bounds__(kBlock) arange_kernel(T* out, int64_t n, double start, double step) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    // No FMA contraction: the same two roundings as the CPU's start + double(i) * step.
    out[i] = cast_value<T, double>(__dadd_rn(start, __dmul_rn(static_cast<double>(i), step)));
}

}  // namespace

void unary(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1, void* stream, LaunchCheck check) {
  const HostScalar none;
  PYDL_DISPATCH_NUMERIC(dtype, T, kernels::with_unary<T>(op, p0, p1, [&](auto f) {
    launch_map<1, T, T, char, char>(loop, none, Forward<decltype(f)>{f}, stream, check, "pydl_unary_contig",
                                    "pydl_unary_strided");
  }));
}

void unary_backward(UnaryOp op, DType dtype, const StridedLoop& loop, double p0, double p1, void* stream,
                    LaunchCheck check) {
  const HostScalar none;
  PYDL_DISPATCH_FLOAT(dtype, T, kernels::with_unary<T>(op, p0, p1, [&](auto f) {
    launch_map<2, T, T, T, char>(loop, none, Backward<decltype(f)>{f}, stream, check, "pydl_unary_backward_contig",
                                 "pydl_unary_backward_strided");
  }));
}

void binary(BinaryOp op, DType dtype, const StridedLoop& loop, const HostScalar& scalar, void* stream,
            LaunchCheck check) {
  const bool compare = is_comparison(op);
  PYDL_DISPATCH_ALL(dtype, T, kernels::with_binary<T>(op, [&](auto f) {
    using Tout = decltype(f(T(), T()));
    launch_map<2, Tout, T, T, char>(loop, scalar, f, stream, check,
                                    compare ? "pydl_compare_contig" : "pydl_binary_contig",
                                    compare ? "pydl_compare_strided" : "pydl_binary_strided");
  }));
}

void where(DType dtype, const StridedLoop& loop, void* stream, LaunchCheck check) {
  const HostScalar none;
  PYDL_DISPATCH_ALL(dtype, T, (launch_map<3, T, bool, T, T>(loop, none, WhereF{}, stream, check,
                                                            "pydl_where_contig", "pydl_where_strided")));
}

void copy(DType dst, DType src, const StridedLoop& loop, void* stream, LaunchCheck check) {
  const HostScalar none;
  if (is_half(dst) || is_half(src)) {
    PYDL_DISPATCH_STORAGE(dst, To, PYDL_DISPATCH_STORAGE(src, From, (launch_map<1, To, From, char, char>(
        loop, none, HalfCastF<To, From>{}, stream, check, "pydl_copy_half_contig", "pydl_copy_half_strided"))));
    return;
  }
  PYDL_DISPATCH_ALL(dst, To, PYDL_DISPATCH_ALL(src, From, (launch_map<1, To, From, char, char>(
      loop, none, CastF<To, From>{}, stream, check, "pydl_copy_contig", "pydl_copy_strided"))));
}

void fill(DType dtype, const StridedLoop& loop, double value, void* stream, LaunchCheck check) {
  const HostScalar none;
  if (is_half(dtype)) {
    PYDL_DISPATCH_HALF(dtype, T, (launch_map<0, T, char, char, char>(loop, none, ConstF<T>{half_cast<T>(value)},
                                                                    stream, check, "pydl_fill_contig",
                                                                    "pydl_fill_strided")));
    return;
  }
  PYDL_DISPATCH_ALL(dtype, T, (launch_map<0, T, char, char, char>(loop, none, ConstF<T>{cast_value<T, double>(value)},
                                                                  stream, check, "pydl_fill_contig",
                                                                  "pydl_fill_strided")));
}

void arange(DType dtype, void* out, int64_t n, double start, double step, void* stream, LaunchCheck check) {
  if (n <= 0) return;
  PYDL_DISPATCH_ALL(dtype, T, {
    arange_kernel<T><<<grid_for(n), kBlock, 0, as_stream(stream)>>>(static_cast<T*>(out), n, start, step);
    check("pydl_arange");
  });
}

}  // namespace pydl::cuda_kernels
