"""The CPU backend's memory: large freed blocks are kept for reuse (see csrc/cpu_allocator.h), up to
a cap that ``PYDL_CPU_CACHE_MB`` sets (0 turns the cache off)."""
from pydl import _C


def memory_stats():
    """{'cached_bytes', 'cap_bytes', 'hits', 'misses'} of the CPU block cache."""
    return dict(_C.cpu_cache_stats())


def empty_cache():
    """Returns every cached CPU block to the system."""
    _C.cpu_empty_cache()
