// How the CPU GEMM (gemm_isa.cpp) tiles a product on this machine, chosen at run time from the
// processor's vendor and cache sizes, so that one build suits Intel and AMD cores alike.
#pragma once
#include <stdint.h>

namespace pydl::cpu {

struct CacheSizes {
  int64_t l1d, l2, l3;  // bytes, per core for L1d and L2
};
// From the OS (sysconf, which reads CPUID), or PYDL_CPU_CACHES="l1d,l2,l3" in KiB.
const CacheSizes& cache_sizes();

// Rows of the AVX-512 register tile (its columns are two vectors): 12 where each core has two
// full 512-bit FMA units (Intel), whose four-cycle latency wants 24 accumulators in flight; 8
// where a 512-bit FMA is issued as two 256-bit halves (AMD Zen 4), for which 16 are enough.
// PYDL_GEMM_TILE_ROWS=8|12 forces one.
int avx512_tile_rows();
// The rows of the tile for a product of m rows: the family's, except that where 12 is the family's
// and 8-row strips waste fewer padded rows (32 or 64 rows, a recurrent step's or a small batch's),
// the 8-row tile, which runs about 5% slower per row on Intel than the 12-row one.
int avx512_tile_rows_for(int64_t m);

struct GemmBlocking {
  int64_t kc, mc, nc;  // depth of a packed panel, rows of a packed A block, columns of a B panel
};
// The blocking for elements of elem_bytes and an mr x nr register tile: a KC x NR strip of B
// fills two L1s (up to 512 deep: it streams from L2 as well, and a strip that filled one L1 of Zen 4
// ran a 2048^3 product at 0.87 of this speed), an MC x KC block of A a sixth of L2, a KC x NC panel
// of B up to 4 MiB of L3.
// PYDL_GEMM_BLOCKING="kc,mc,nc" forces one.
GemmBlocking gemm_blocking(int elem_bytes, int mr, int nr);
// That blocking evened out over an m x n product of depth k: as many blocks along each side as it
// gives (along K, up to an eighth deeper panels where that saves one, and twice as deep where the
// operand of C's narrow side fits in half of L2), of equal sizes, so that no thin last block (1040
// deep in 512 + 512 + 16) pays a whole pass over C for little work; A's blocks as tall as a sixth of
// L2 holds at the product's depth where it is shallower than KC. As forced.
GemmBlocking gemm_blocking_for(int elem_bytes, int mr, int nr, int64_t m, int64_t n, int64_t k);

// The register tile (rows, columns) of float32 products under the active ISA, as gemm_isa.cpp
// picks it: for benchmarks and tests to report.
struct GemmTile {
  int rows, cols;
};
GemmTile float32_tile();

}  // namespace pydl::cpu
