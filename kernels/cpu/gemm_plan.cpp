#include "kernels/cpu/gemm_plan.h"

#include "kernels/cpu/isa.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

namespace pydl::cpu {

namespace {

int64_t sysconf_or(int name, int64_t fallback) {
  const long v = sysconf(name);
  return v > 0 ? v : fallback;
}

int64_t round_down(int64_t x, int64_t step) { return x / step * step; }
int64_t clamp(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : x > hi ? hi : x; }

// PYDL_GEMM_BLOCKING, parsed once: zeros where unset or malformed.
const GemmBlocking& forced_blocking() {
  static const GemmBlocking forced = [] {
    GemmBlocking b{0, 0, 0};
    const char* v = getenv("PYDL_GEMM_BLOCKING");
    long long kc, mc, nc;
    if (v && sscanf(v, "%lld,%lld,%lld", &kc, &mc, &nc) == 3 && kc > 0 && mc > 0 && nc > 0) b = {kc, mc, nc};
    return b;
  }();
  return forced;
}

// PYDL_GEMM_TILE_ROWS, parsed once: 0 where unset or not 8 or 12.
int forced_tile_rows() {
  static const int rows = [] {
    const char* v = getenv("PYDL_GEMM_TILE_ROWS");
    const int asked = v ? atoi(v) : 0;
    return asked == 8 || asked == 12 ? asked : 0;
  }();
  return rows;
}

}  // namespace

const CacheSizes& cache_sizes() {
  static const CacheSizes sizes = [] {
    CacheSizes s{sysconf_or(_SC_LEVEL1_DCACHE_SIZE, 32 << 10), sysconf_or(_SC_LEVEL2_CACHE_SIZE, 1 << 20),
                 sysconf_or(_SC_LEVEL3_CACHE_SIZE, 8 << 20)};
    long long l1, l2, l3;
    const char* v = getenv("PYDL_CPU_CACHES");
    if (v && sscanf(v, "%lld,%lld,%lld", &l1, &l2, &l3) == 3 && l1 > 0 && l2 > 0 && l3 > 0)
      s = {l1 << 10, l2 << 10, l3 << 10};
    return s;
  }();
  return sizes;
}

int avx512_tile_rows() {
  static const int rows = [] {
    if (forced_tile_rows()) return forced_tile_rows();
    __builtin_cpu_init();
    return __builtin_cpu_is("intel") ? 12 : 8;
  }();
  return rows;
}

int avx512_tile_rows_for(int64_t m) {
  const int rows = avx512_tile_rows();
  if (rows == 8 || forced_tile_rows()) return rows;
  const int64_t padded12 = (m + 11) / 12 * 12, padded8 = (m + 7) / 8 * 8;
  return padded8 * 20 < padded12 * 19 ? 8 : 12;  // 8-row strips at 95% of the 12-row ones' speed
}

GemmBlocking gemm_blocking(int elem_bytes, int mr, int nr) {
  const GemmBlocking& forced = forced_blocking();
  if (forced.kc) return {forced.kc, clamp(round_down(forced.mc, mr), mr, INT64_MAX),
                         clamp(round_down(forced.nc, nr), nr, INT64_MAX)};
  const CacheSizes& c = cache_sizes();
  const int64_t kc = clamp(round_down(2 * c.l1d / (nr * elem_bytes), 16), 128, 512);
  const int64_t mc = clamp(round_down(c.l2 / 6 / (kc * elem_bytes), mr), 4 * mr, 64 * mr);
  const int64_t l3_part = c.l3 / 16 < (4 << 20) ? c.l3 / 16 : (4 << 20);
  const int64_t nc = clamp(round_down(l3_part / (kc * elem_bytes), nr), 8 * nr, 256 * nr);
  return {kc, mc, nc};
}

namespace {
// The size of block that covers extent in ceil(extent / most) equal blocks (multiples of unit);
// at least block, the size the caches ask for, where one block covers it.
int64_t even_block(int64_t extent, int64_t block, int64_t most, int64_t unit) {
  if (extent <= most) return extent > block ? extent : block;
  const int64_t blocks = (extent + most - 1) / most, size = (extent + blocks - 1) / blocks;
  return (size + unit - 1) / unit * unit;
}
}  // namespace

GemmBlocking gemm_blocking_for(int elem_bytes, int mr, int nr, int64_t m, int64_t n, int64_t k) {
  const GemmBlocking b = gemm_blocking(elem_bytes, mr, nr);
  if (forced_blocking().kc) return b;
  // Where the narrow side's operand (all of W in x @ W.T) fits in half of L2, its strips come from L2
  // whatever the depth, and a second K block would only cost a second pass over C: up to twice the
  // depth in one block (the MLP's 512x784 by 784x100: 346 -> 315 us, a 512^3 product 3% faster, on 2
  // Intel cores). Alike for C and C^T, so that a product computed swapped keeps its bits.
  const bool narrow_in_l2 = (m < n ? m : n) * k * elem_bytes <= cache_sizes().l2 / 2;
  const int64_t deepest = (narrow_in_l2 ? 2 : 1) * (b.kc + b.kc / 8);
  // A shallower product's A block is as many rows as a sixth of L2 holds at its depth: an MLP's dW1
  // (100x784 from 64) ran as 56 + 44 rows, each block streaming all of x's band again.
  const int64_t mc = k < b.kc ? clamp(round_down(cache_sizes().l2 / 6 / ((k ? k : 1) * elem_bytes), mr), b.mc, 64 * mr)
                              : b.mc;
  return {even_block(k, b.kc, deepest, 8), even_block(m, mc, mc, mr), even_block(n, b.nc, b.nc, nr)};
}

GemmTile float32_tile() {
  switch (active_isa()) {
    case Isa::Avx512: return {avx512_tile_rows(), 32};
    case Isa::Avx2: return {6, 16};
    default: return {6, 8};
  }
}

}  // namespace pydl::cpu
