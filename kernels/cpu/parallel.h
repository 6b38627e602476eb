// OpenMP helpers for the CPU kernels.
#pragma once
#include <stdint.h>
#include <omp.h>

#include "kernels/common/macros.h"
#include "kernels/cpu/team.h"

PYDL_KERNELS_BEGIN

// Below this many elements a loop runs on one thread: waking the team costs more.
constexpr int64_t kParallelGrain = 32768;

// Splits [0, n) into one contiguous range per thread and calls fn(begin, end).
template <class Fn>
void parallel_ranges(int64_t n, int64_t work_per_item, Fn fn) {
  if (n <= 0) return;
  if (n * work_per_item < kParallelGrain || n == 1 || omp_get_max_threads() == 1 || omp_in_parallel()) {
    fn(int64_t(0), n);
    return;
  }
  cpu::Region region;
#pragma omp parallel
  {
    cpu::RegionMember member(region);
    int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t chunk = (n + nt - 1) / nt;
    int64_t begin = t * chunk, end = begin + chunk < n ? begin + chunk : n;
    if (begin < end) fn(begin, end);
  }
}

PYDL_KERNELS_END
