// A stable LSD radix sort of one row by the order of kernels/common/sort.h, for the CPU's full
// sorts: each value mapped to an unsigned key whose order is that order (floats with -0 as +0
// and every NaN one key above +inf; signed integers offset by the sign bit; the complement
// when descending), then 8 bits at a time, stably, so equal keys keep their positions' order.
#pragma once
#include <stdint.h>
#include <string.h>

#include <type_traits>
#include <utility>
#include <vector>

namespace pydl::cpu {

template <class T>
using RadixKey = std::conditional_t<sizeof(T) <= 4, uint32_t, uint64_t>;

template <class T>
RadixKey<T> radix_key(T x, bool descending) {
  using K = RadixKey<T>;
  K key;
  if constexpr (std::is_floating_point<T>::value) {
    using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    constexpr Bits sign = Bits(1) << (8 * sizeof(T) - 1);
    Bits bits;
    const T canonical = x == T(0) ? T(0) : x;  // -0 sorts with +0
    memcpy(&bits, &canonical, sizeof bits);
    key = x != x ? ~Bits(0) : (bits & sign ? ~bits : bits | sign);
  } else if constexpr (std::is_signed<T>::value) {
    key = static_cast<K>(x) ^ (K(1) << (8 * sizeof(K) - 1));
  } else {
    key = static_cast<K>(x);
  }
  return descending ? K(~key) : key;
}

// Sorts the positions 0..n-1 of x into `order` (scratch: a second buffer of pairs).
template <class T>
void radix_sort_row(const T* x, int64_t n, bool descending, std::vector<std::pair<RadixKey<T>, int64_t>>& order,
                    std::vector<std::pair<RadixKey<T>, int64_t>>& scratch) {
  using K = RadixKey<T>;
  order.resize(n);
  scratch.resize(n);
  for (int64_t i = 0; i < n; ++i) order[i] = {radix_key(x[i], descending), i};
  const int digits = std::is_same<T, bool>::value || sizeof(T) == 1 ? 1 : static_cast<int>(sizeof(K));
  for (int d = 0; d < digits; ++d) {
    int64_t count[257] = {};
    for (int64_t i = 0; i < n; ++i) ++count[((order[i].first >> (8 * d)) & 0xFF) + 1];
    if (count[((order[0].first >> (8 * d)) & 0xFF) + 1] == n) continue;  // one digit value: nothing moves
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (int64_t i = 0; i < n; ++i) scratch[count[(order[i].first >> (8 * d)) & 0xFF]++] = order[i];
    order.swap(scratch);
  }
}

}  // namespace pydl::cpu
