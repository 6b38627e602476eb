#include "csrc/threads.h"

#include <omp.h>
#include <pthread.h>

#include "csrc/errors.h"

namespace pydl {

void set_num_threads(int n) {
  if (n < 1) fail<ValueError>("set_num_threads: expected a positive number of threads, got ", n);
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

void install_fork_handler() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  pthread_atfork(nullptr, nullptr, [] { omp_set_num_threads(1); });
}

}  // namespace pydl
