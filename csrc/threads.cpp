#include "csrc/threads.h"

#include <omp.h>
#include <pthread.h>

#include <atomic>

#include "csrc/errors.h"

namespace pydl {

namespace {
// The team size set_num_threads chose, for every thread (0: OpenMP's default). OpenMP keeps
// the setting per calling thread, so each thread that runs kernels adopts it (adopt_num_threads).
std::atomic<int> g_num_threads{0};
}  // namespace

void set_num_threads(int n) {
  if (n < 1) fail<ValueError>("set_num_threads: expected a positive number of threads, got ", n);
  g_num_threads = n;
  omp_set_num_threads(n);
}

int get_num_threads() {
  const int n = g_num_threads;
  return n ? n : omp_get_max_threads();
}

void adopt_num_threads() {
  thread_local int adopted = 0;
  const int n = g_num_threads.load(std::memory_order_relaxed);
  if (n != adopted && n > 0) {
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
