// CPU threading: the OpenMP team size, and fork safety.
#pragma once

namespace pydl {

void set_num_threads(int n);
int get_num_threads();
// A forked child (a DataLoader worker, say) must never wait on the parent's libgomp
// pool, which does not exist in the child: it runs single-threaded.
void install_fork_handler();

}  // namespace pydl
