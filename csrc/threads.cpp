#include "csrc/threads.h"

#include <omp.h>
#include <pthread.h>

#include <atomic>

#include "csrc/errors.h"
#include "kernels/cpu/team.h"

namespace pydl {

namespace {
// The team size set_num_threads chose, for every thread (0: OpenMP's default). OpenMP keeps
// the setting per calling thread, so each thread that runs kernels adopts it (adopt_num_threads).
std::atomic<int> g_num_threads{0};

int default_threads() {
  static const int n = omp_get_max_threads();  // OpenMP's own choice, read before any setting changes it
  return n;
}
}  // namespace

void set_num_threads(int n) {
  default_threads();  // OpenMP's default, read before this call changes it
  if (n < 1) fail<ValueError>("set_num_threads: expected a positive number of threads, got ", n);
  g_num_threads = n;
  omp_set_num_threads(n);
}

int get_num_threads() {
  const int n = g_num_threads;
  return n ? n : default_threads();
}

void adopt_num_threads() {
  thread_local int adopted = 0;
  int n = g_num_threads.load(std::memory_order_relaxed);
  if (n <= 0) n = default_threads();
  if (cpu::team_size() != n) cpu::set_team_size(n);
  if (n > 1 && cpu::team_backed_off()) n = 1;  // workers arrived late: the machine is busy (kernels/cpu/team.h)
  if (n != adopted) {
    omp_set_num_threads(n);
    adopted = n;
  }
}

void install_fork_handler() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  pthread_atfork(nullptr, nullptr, [] {
    g_num_threads = 1;
    omp_set_num_threads(1);
  });
}

}  // namespace pydl
