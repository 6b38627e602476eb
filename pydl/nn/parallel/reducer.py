"""The gradient buckets of DistributedDataParallel and their all-reduces during backward.

Parameters are grouped in reverse order (roughly the order backward produces their gradients)
into buckets of one dtype and device: the first holds up to 1 MiB (or ``bucket_cap_mb`` when
smaller), so that communication starts early, the others up to ``bucket_cap_mb``. When the last
gradient of a bucket has been accumulated, the bucket's gradients are copied into its flat tensor
whose all-reduce (AVG) starts at once, asynchronously; buckets start in index order on every rank
(the order collectives must share). At the end of backward every bucket is waited for and each
parameter's ``.grad`` becomes its view into the averaged flat tensor. A bucket keeps its flat
tensor and views from step to step (as PyTorch's reducer keeps its buckets), so a step costs no
allocation and no view making: a ``.grad`` kept from an earlier step is overwritten by the next
synchronized backward, as with PyTorch's ``gradient_as_bucket_view``.
"""
from pydl import distributed as dist
from pydl.autograd.function import queue_callback
from pydl.creation import empty

FIRST_BUCKET_BYTES = 1 << 20


class _Bucket:
    __slots__ = ("params", "offsets", "numel", "dtype", "device", "ready", "flat", "views", "work")

    def __init__(self, dtype, device):
        self.params, self.offsets, self.numel = [], [], 0
        self.dtype, self.device = dtype, device
        self.ready, self.flat, self.views, self.work = 0, None, None, None

    def add(self, p):
        self.params.append(p)
        self.offsets.append(self.numel)
        self.numel += p.numel()

    def nbytes(self):
        return self.numel * self.dtype.itemsize

    def gather(self):
        """Copies the parameters' gradients into the flat tensor (zeros for a parameter without one)."""
        if self.flat is None:
            self.flat = empty(self.numel, dtype=self.dtype, device=self.device)
            self.views = [self.flat[off:off + p.numel()].view(tuple(p.shape))
                          for p, off in zip(self.params, self.offsets)]
        for p, view in zip(self.params, self.views):
            g = p.grad
            if g is None:  # not used by this step's graph: it contributes zeros
                view.zero_()
            elif g is not view:  # (a .grad left from the last step, untouched since, is in place already)
                view.copy_(g)


def assign_buckets(params, cap_bytes, first_cap_bytes=FIRST_BUCKET_BYTES):
    """Buckets (lists of parameters) in reverse parameter order, one dtype and device each."""
    buckets, open_ = [], {}
    for p in reversed(params):
        key = (p.dtype, str(p.device))
        b = open_.get(key)
        if b is None:
            b = open_[key] = _Bucket(p.dtype, p.device)
            buckets.append(b)
        b.add(p)
        limit = min(first_cap_bytes, cap_bytes) if b is buckets[0] else cap_bytes
        if b.nbytes() >= limit:
            del open_[key]
    return buckets


class Reducer:
    def __init__(self, params, bucket_cap_mb):
        self.buckets = assign_buckets(params, int(bucket_cap_mb * (1 << 20)))
        self._where = {}
        for bi, b in enumerate(self.buckets):
            for p in b.params:
                self._where[id(p)] = bi
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]
        self.armed = False  # the next backward all-reduces (set by a forward outside no_sync)
        self._next = 0  # the next bucket to start
        self._in_backward = False

    def remove_hooks(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    # ------------------------------------------------------------------ during backward
    def _grad_ready(self, p):
        if not self.armed:
            return
        if not self._in_backward:
            self._in_backward = True
            queue_callback(self._finish)
        b = self.buckets[self._where[id(p)]]
        b.ready += 1
        while self._next < len(self.buckets) and self.buckets[self._next].ready == len(self.buckets[self._next].params):
            self._start(self.buckets[self._next])
            self._next += 1
        for started in self.buckets[:self._next]:  # lets MPI progress the transfers in flight
            started.work.is_completed()

    def _start(self, b):
        b.gather()
        b.work = dist.all_reduce(b.flat, op=dist.ReduceOp.AVG, async_op=True)

    def _finish(self):
        try:
            while self._next < len(self.buckets):
                self._start(self.buckets[self._next])
                self._next += 1
            for b in self.buckets:
                b.work.wait()
                for p, view in zip(b.params, b.views):
                    p.grad = view
        finally:
            for b in self.buckets:
                b.ready, b.work = 0, None
            self._next, self._in_backward, self.armed = 0, False, False
