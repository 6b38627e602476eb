// CPU threading: the OpenMP team size (one setting for all threads, as torch.set_num_threads),
// and fork safety.
#pragma once

namespace pydl {

void set_num_threads(int n);
int get_num_threads();
// Makes the calling thread's OpenMP team size the one set_num_threads chose (OpenMP keeps
// it per thread), or one while workers arrive late on a busy machine (kernels/cpu/team.h);
// the bindings call it before running kernels, so it is cheap.
void adopt_num_threads();
// A forked child (a DataLoader worker, say) must never wait on the parent's libgomp
// pool, which does not exist in the child: it runs single-threaded.
void install_fork_handler();

}  // namespace pydl
