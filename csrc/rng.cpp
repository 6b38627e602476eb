#include "csrc/rng.h"

#include <mutex>

namespace pydl::rng {

namespace {
std::mutex g_mu;  // a seed and the reservations made under it change together
Position g_state{67280421310721ull, 0};
}  // namespace

void manual_seed(uint64_t s) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_state = {s, 0};
}

Position state() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_state;
}

Position reserve(uint64_t n) {
  std::lock_guard<std::mutex> lock(g_mu);
  const Position at = g_state;
  g_state.offset += (n + 3) & ~uint64_t(3);
  return at;
}

}  // namespace pydl::rng
