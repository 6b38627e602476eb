#include "csrc/rng.h"

#include <atomic>

namespace pydl::rng {

static std::atomic<uint64_t> g_seed{67280421310721ull};
static std::atomic<uint64_t> g_offset{0};

void manual_seed(uint64_t s) {
  g_seed = s;
  g_offset = 0;
}
uint64_t seed() { return g_seed; }
uint64_t offset() { return g_offset; }
uint64_t reserve(uint64_t n) { return g_offset.fetch_add((n + 3) & ~uint64_t(3)); }

}  // namespace pydl::rng
