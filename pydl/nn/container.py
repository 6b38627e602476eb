"""Containers: Sequential (indexable; fuses Linear or Conv2d followed by ReLU into one kernel, and Conv2d,
ReLU, MaxPool2d into one node), ModuleList, ModuleDict."""
from collections import OrderedDict

from pydl.nn.module import Module


class Sequential(Module):
    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        from pydl.nn.activation import ReLU
        from pydl.nn.conv import Conv2d
        from pydl.nn.linear import Linear
        from pydl.nn.pooling import MaxPool2d

        mods = list(self._modules.values())
        i = 0
        while i < len(mods):
            m = mods[i]
            if (type(m) is Conv2d and i + 2 < len(mods) and type(mods[i + 1]) is ReLU and type(mods[i + 2]) is MaxPool2d
                    and not mods[i + 2].return_indices):
                x = m.forward_relu_max_pool(x, mods[i + 2])  # one node, ReLU's mask on the pooled gradient
                i += 3
            elif type(m) in (Linear, Conv2d) and i + 1 < len(mods) and type(mods[i + 1]) is ReLU:
                x = m.forward_relu(x)  # bias and ReLU in the kernel's write-back
                i += 2
            else:
                x = m(x)
                i += 1
        return x

    def __getitem__(self, idx):
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        return mods[_index(idx, len(mods), "Sequential")][1]

    def __setitem__(self, idx, module):
        name = list(self._modules)[_index(idx, len(self._modules), "Sequential")]
        setattr(self, name, module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    def __init__(self, modules=None):
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(mods[idx])
        return mods[_index(idx, len(mods), "ModuleList")]

    def __setitem__(self, idx, module):
        setattr(self, str(_index(idx, len(self._modules), "ModuleList")), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    def __init__(self, modules=None):
        super().__init__()
        for name, m in (modules or {}).items():
            self.add_module(name, m)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


def _index(idx, n, what):
    if not -n <= idx < n:
        raise IndexError(f"{what}: index {idx} is out of range for {n} modules")
    return idx % n
