#include "kernels/cpu/team.h"

#include <time.h>

#include <omp.h>

namespace pydl::cpu {

namespace {

// A spinning worker arrives within microseconds; one the OS left waiting behind another process
// arrives milliseconds late. Only a region opened while the team still spins from the last one
// (within kHotNs of its end) is judged: a worker woken from sleep can take as long as a descheduled
// one (a virtual CPU halted while idle: after 10 ms of idling, most first regions on 2 Intel cores
// came late), and judging it would send a training loop with pauses between steps to one thread.
constexpr int64_t kLateNs = 500'000, kHotNs = 1'000'000;
constexpr int64_t kFirstBackoffNs = 50'000'000, kMaxBackoffNs = 1'600'000'000;
// One late arrival alone is a hiccup (a virtual CPU's host took the core back for a moment: a few an
// hour on a 2-core Zen 4 VM, each of which sent a benchmark's next 50 ms to one thread); beside a busy
// process the next one comes within milliseconds. A back-off needs two within kConfirmNs.
constexpr int64_t kConfirmNs = 200'000'000;

std::atomic<int64_t> g_solo_until_ns{0};  // regions run alone until then
std::atomic<int64_t> g_backoff_ns{kFirstBackoffNs};
std::atomic<int64_t> g_late_regions{0};
std::atomic<int64_t> g_last_late_ns{0};
std::atomic<int64_t> g_team_left_ns{0};  // when the last region with a team ended
std::atomic<int> g_team_size{0};

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t coarse_now_ns() {  // a few ns to read, a few ms of resolution: enough against 50 ms back-offs
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void on_late(int64_t now) {
  ++g_late_regions;
  const int64_t previous = g_last_late_ns.exchange(now, std::memory_order_relaxed);
  if (previous == 0 || now - previous > kConfirmNs) return;
  // Late again soon after the last back-off ended: the other process is still there, wait longer.
  const int64_t ended = g_solo_until_ns.load(std::memory_order_relaxed);
  int64_t backoff = g_backoff_ns.load(std::memory_order_relaxed);
  if (ended > 0 && now - ended < backoff) backoff = backoff * 2 < kMaxBackoffNs ? backoff * 2 : kMaxBackoffNs;
  else backoff = kFirstBackoffNs;
  g_backoff_ns.store(backoff, std::memory_order_relaxed);
  g_solo_until_ns.store(now + backoff, std::memory_order_relaxed);
}

}  // namespace

bool team_backed_off() { return coarse_now_ns() < g_solo_until_ns.load(std::memory_order_relaxed); }

int team_size() {
  const int n = g_team_size.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
}

void set_team_size(int n) { g_team_size.store(n, std::memory_order_relaxed); }

TeamStats team_stats() {
  return {g_late_regions.load(), g_backoff_ns.load(), team_backed_off()};
}

void team_report_late() { on_late(now_ns()); }

void team_clear() {
  g_solo_until_ns = 0;
  g_team_left_ns = 0;
  g_backoff_ns = kFirstBackoffNs;
  g_late_regions = 0;
  g_last_late_ns = 0;
}

Region::Region() : opened_ns_(now_ns()) {}

void Region::arrive() {
  const int64_t t = now_ns();
  int64_t last = last_arrival_ns_.load(std::memory_order_relaxed);
  while (t > last && !last_arrival_ns_.compare_exchange_weak(last, t, std::memory_order_relaxed)) {
  }
  arrivals_.fetch_add(1, std::memory_order_relaxed);
}

Region::~Region() {
  if (arrivals_.load(std::memory_order_relaxed) < 2) return;  // a team of one: nobody to wait for
  const int64_t last = last_arrival_ns_.load(std::memory_order_relaxed);
  const bool hot = opened_ns_ - g_team_left_ns.load(std::memory_order_relaxed) < kHotNs;
  if (hot && last - opened_ns_ > kLateNs) on_late(last);
  g_team_left_ns.store(now_ns(), std::memory_order_relaxed);
}

}  // namespace pydl::cpu
