// Denormal floats on the CPU: whether pydl's kernels flush them to zero (x86 MXCSR FTZ + DAZ).
//
// Flushing is on by default, as in TensorFlow and JAX (PyTorch leaves it off): once a model fits
// its data, softmax probabilities and the gradients behind them underflow into denormals, which
// Intel cores handle in microcode at a fraction of the normal speed, so a training step slows
// 1.6-1.8x just as the loss gets small; the values flushed lie below 1.2e-38 (float32) and carry
// nothing a network can learn from. CUDA kernels are compiled with nvcc -ftz=true to match, so a
// float32 pointwise op gives the same bits on both (kernels/common/pointwise_math.h).
//
// The mode is one setting for the process (pydl.set_flush_denormal), but MXCSR is per thread: each
// kernel call sets it on the calling thread for the call's duration and restores the caller's
// value afterwards (numpy and everything else in the process keep their own mode), and each
// OpenMP worker does the same inside a parallel region (FloatModeScope).
#pragma once
#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define PYDL_HAVE_MXCSR 1
#endif

namespace pydl::cpu {

extern std::atomic<bool> g_flush_denormal;

inline bool flush_denormal() { return g_flush_denormal.load(std::memory_order_relaxed); }
// False where the processor has no such switch (then the mode only records the wish).
constexpr bool flush_denormal_supported() {
#ifdef PYDL_HAVE_MXCSR
  return true;
#else
  return false;
#endif
}

// Sets the calling thread's flush mode to pydl's for the scope's lifetime.
class FloatModeScope {
 public:
  FloatModeScope() {
#ifdef PYDL_HAVE_MXCSR
    const unsigned csr = _mm_getcsr();
    saved_ = csr & kFtzDaz;
    const unsigned want = flush_denormal() ? kFtzDaz : 0u;
    if (want != saved_) _mm_setcsr((csr & ~kFtzDaz) | want);
#endif
  }
  ~FloatModeScope() {
#ifdef PYDL_HAVE_MXCSR
    const unsigned csr = _mm_getcsr();  // the exception flags the kernel raised stay raised
    if ((csr & kFtzDaz) != saved_) _mm_setcsr((csr & ~kFtzDaz) | saved_);
#endif
  }
  FloatModeScope(const FloatModeScope&) = delete;
  FloatModeScope& operator=(const FloatModeScope&) = delete;

 private:
  static constexpr unsigned kFtzDaz = 0x8040;  // flush-to-zero (bit 15), denormals-are-zero (bit 6)
  unsigned saved_ = 0;
};

}  // namespace pydl::cpu
