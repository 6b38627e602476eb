// The global Philox generator: (seed, offset). One stream for every device, so a
// seeded run draws the same numbers on the CPU and on a GPU. Safe under concurrent
// calls from several threads: one mutex orders seeding and reservations.
#pragma once
#include <cstdint>

namespace pydl::rng {

struct Position {
  uint64_t seed, offset;
};

void manual_seed(uint64_t seed);  // offset back to 0
Position state();
// Reserves n stream positions of the current seed; returns where they start. Offsets stay
// multiples of 4 so that every draw starts on a fresh Philox block.
Position reserve(uint64_t n);

}  // namespace pydl::rng
