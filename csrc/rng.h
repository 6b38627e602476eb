// The global Philox generator: (seed, offset). One stream for every device, so a
// seeded run draws the same numbers on the CPU and on a GPU.
#pragma once
#include <cstdint>

namespace pydl::rng {

void manual_seed(uint64_t seed);  // offset back to 0
uint64_t seed();
uint64_t offset();
// Reserves n stream positions; returns where they start. Offsets stay multiples of 4
// so that every draw starts on a fresh Philox block.
uint64_t reserve(uint64_t n);

}  // namespace pydl::rng
