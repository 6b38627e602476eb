// Parallel regions that give way on a busy machine.
//
// Where another process holds a core, a worker woken for a region can wait milliseconds before the
// OS runs it, and the region's barriers wait with it: beside one busy process, a 2-thread MLP
// training step on 2 Intel cores took 15x its time (PyTorch's too), while one thread ran at its usual
// speed. So each region notes when its threads arrive; after workers arrive late twice within 200 ms
// (once is a hiccup), pydl's regions run on the calling thread alone for a while (threads.cpp adopts
// a team of one), 50 ms at first and doubling while the team keeps arriving late, up to 1.6 s; then
// the team is tried again. Only
// regions opened while the workers still spin from the last one are judged: one woken from sleep
// may arrive as late without anyone else on its core.
//
//   Region region;                  // on the thread that opens the region
//   #pragma omp parallel
//   { RegionMember member(region);  // on every thread: its arrival, and pydl's denormal mode
//     ... }
#pragma once
#include <stdint.h>

#include <atomic>

#include "kernels/cpu/float_mode.h"

namespace pydl::cpu {

// Whether regions now run on the calling thread alone, after a late arrival.
bool team_backed_off();

// The team size pydl is set to (set_num_threads, or OpenMP's default), whether or not regions run
// alone now: kernels that sum one partial result per slice of their work (a conv's weight gradient)
// slice by it, so that a back-off changes no bits. threads.cpp keeps it up to date.
int team_size();
void set_team_size(int n);

// Late arrivals seen so far, and how long the current back-off lasts (ns): for tests and benchmarks.
struct TeamStats {
  int64_t late_regions, backoff_ns;
  bool backed_off;
};
TeamStats team_stats();
// Counts a late arrival as a region would (tests); clear() ends any back-off and resets the counts.
void team_report_late();
void team_clear();

class Region {
 public:
  Region();
  ~Region();  // judges the arrivals
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  void arrive();

 private:
  int64_t opened_ns_;
  std::atomic<int64_t> last_arrival_ns_{0};
  std::atomic<int> arrivals_{0};
};

class RegionMember {
 public:
  explicit RegionMember(Region& region) { region.arrive(); }

 private:
  FloatModeScope float_mode_;
};

}  // namespace pydl::cpu
