"""Turns a CUDA source into C++ for pydl's CUDA emulation (PYDL_CUDA=EMULATE).

    kernel<Args><<<grid, block, smem, stream>>>(a, b)
        -> ::pydl_emu::Launcher(grid, block, smem, stream)(
               [](auto&... args) { kernel<Args>(args...); }, a, b)
    extern __shared__ __align__(16) unsigned char buf[];
        -> unsigned char* const buf = ::pydl_emu::dynamic_shared_memory();

Usage: rewrite_launches.py SOURCE OUTPUT
"""
import os
import re
import sys

DYNAMIC_SHARED = re.compile(
    r"extern\s+__shared__\s+(?:__align__\(\s*\d+\s*\)\s+|alignas\(\s*\d+\s*\)\s+)?([\w:]+(?:\s+[\w:]+)*?)\s+(\w+)\s*\[\s*\]\s*;")


def _skip_space_back(src, j):
    while j > 0 and src[j - 1].isspace():
        j -= 1
    return j


def callee_start(src, end):
    """Start of the kernel expression that ends just before src[end] ('<<<')."""
    j = _skip_space_back(src, end)
    while True:
        if src[j - 1] == ">":  # template arguments: walk back to the matching '<'
            depth, k = 0, j - 1
            while True:
                if src[k] == ">":
                    depth += 1
                elif src[k] == "<":
                    depth -= 1
                    if depth == 0:
                        break
                k -= 1
            j = _skip_space_back(src, k)
        k = j
        while k > 0 and (src[k - 1].isalnum() or src[k - 1] == "_"):
            k -= 1
        if k == j:
            raise ValueError(f"no kernel name before '<<<' at offset {end}")
        j = k
        if src[j - 2:j] == "::":
            j -= 2
            continue
        return j


def closing_paren(src, open_at):
    depth = 0
    for k in range(open_at, len(src)):
        if src[k] == "(":
            depth += 1
        elif src[k] == ")":
            depth -= 1
            if depth == 0:
                return k
    raise ValueError(f"unbalanced parentheses after offset {open_at}")


def rewrite(src):
    out, pos = [], 0
    while True:
        start = src.find("<<<", pos)
        if start < 0:
            break
        stop = src.find(">>>", start)
        args_open = stop + 3
        while src[args_open].isspace():
            args_open += 1
        if src[args_open] != "(":
            raise ValueError(f"no argument list after '>>>' at offset {stop}")
        args_close = closing_paren(src, args_open)
        name_at = callee_start(src, start)
        kernel = src[name_at:start].strip()
        config = src[start + 3:stop].strip()
        args = src[args_open + 1:args_close].strip()
        # A generic lambda, so that template arguments the launch leaves to deduction are
        # deduced from the arguments as nvcc does.
        body = f"[=](auto&... pydl_emu_args) {{ {kernel}(pydl_emu_args...); }}"
        call = f"::pydl_emu::Launcher({config})({body}{', ' + args if args else ''})"
        lost_lines = src.count("\n", name_at, args_close) - call.count("\n")
        out.append(src[pos:name_at])
        out.append(call + "\n" * max(lost_lines, 0))  # keeps #line numbers right after the call
        pos = args_close + 1
    out.append(src[pos:])
    text = "".join(out)
    return DYNAMIC_SHARED.sub(
        lambda m: f"{m.group(1)}* const {m.group(2)} = reinterpret_cast<{m.group(1)}*>("
                  f"::pydl_emu::dynamic_shared_memory());", text)


def main():
    source, output = sys.argv[1], sys.argv[2]
    with open(source) as f:
        text = rewrite(f.read())
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as f:
        f.write(f'#line 1 "{source}"\n' + text)


if __name__ == "__main__":
    main()
