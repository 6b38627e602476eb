"""The AttributeError for a name that ported PyTorch code reaches for and pydl lacks: it says so
and points to the README's porting section (each public module sets ``__getattr__`` from here)."""


def module_getattr(module_name):
    torch_name = module_name.replace("pydl", "torch", 1)

    def __getattr__(name):
        if name.startswith("__"):  # the import system's probes (__path__, __wrapped__, ...)
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}: pydl has no {torch_name}.{name} "
                             f"(README.md, 'Porting from PyTorch', lists what is not supported)")

    return __getattr__
