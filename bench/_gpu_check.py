"""The Python side of bench/gpu_check.sh. Standard library only: it runs before pydl is built.

    python bench/_gpu_check.py COMMAND [ARGS]

    pytest-note XML LOG  a pytest step's note, from its junit report or else its -v log; exit 0: some
                         test ran, 1: none ran (all skipped or deselected), 3: no junit report
    preflight-facts      the Python, its headers, site-packages and packages, a line each
    probe                "xdist timeout session-timeout nodeps user", each 0 or 1
    pydl-fact            where the installed pydl is and whether it sees a CUDA device
    cuda-check           pydl imports and sees a CUDA device (exit 1 if not)
    import-check NOTE    after the build: pydl and its _C import and, with a GPU (or EMULATE=1), see
                         it; what it sees is appended to the file NOTE
    sanitizer-probe      a trivial allocation, for compute-sanitizer memcheck to try the device

Imported by pytest (gpu_check.sh copies it as gpu_check_pytest.py to the directory the tests run
from, then -p gpu_check_pytest), it is a plugin that prints each failure's traceback as it
happens, so that a run killed before its final summary still tells what failed. pytest takes
every module-level name starting with "pytest_" for a hook, hence none but the hooks do.
"""
import importlib.metadata as md
import importlib.util
import os
import re
import sys
import sysconfig
import xml.etree.ElementTree as ET

RESULTS = ("PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS")
_ANY = "|".join(RESULTS)
PLAIN = re.compile(rf"^(\S+::.*?) ({_ANY})\b")                    # path::test PASSED [ 3%]
XDIST = re.compile(rf"^\[gw\d+\] \[ *\d+%\] ({_ANY}) (\S+::.*)$")  # [gw0] [ 3%] PASSED path::test
STARTED = re.compile(r"^\S+::\S")  # under xdist a test that began; alone one that never ended
PACKAGES = [("pip", "pip"), ("numpy", "numpy"), ("safetensors", "safetensors"), ("tqdm", "tqdm"),
            ("pytest", "pytest"), ("hypothesis", "hypothesis"), ("xdist", "pytest-xdist"),
            ("pytest_timeout", "pytest-timeout"), ("pybind11", "pybind11"),
            ("scikit_build_core", "scikit-build-core"), ("cmake", "cmake"), ("ninja", "ninja"),
            ("torch", "torch"), ("cupy", "cupy"), ("pydl", "pydl")]


# ------------------------------------------------------------------ pytest-note
def junit_counts(path):
    """(text, status, failed tests) from a junit report; None when there is none or it is cut
    short (pytest was killed)."""
    try:
        root = ET.parse(path).getroot()
    except Exception:  # noqa: BLE001
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    t, f, e, s = (sum(int(x.get(k, 0)) for x in suites) for k in ("tests", "failures", "errors", "skipped"))
    p = t - f - e - s
    bad = [c.get("name", "?") for c in root.iter("testcase")
           if c.find("failure") is not None or c.find("error") is not None]
    return f"{p} passed, {f} failed, {e} errors, {s} skipped", (0 if p + f + e > 0 else 1), bad


def log_counts(path):
    """(text, 3, failed tests) counted from a -v log, naming the tests that began and never ended."""
    try:
        with open(path, errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        lines = []
    n = dict.fromkeys(RESULTS, 0)
    started, finished, bad = [], set(), []
    for line in lines:
        if m := PLAIN.match(line):
            nodeid, res = m.group(1, 2)
        elif m := XDIST.match(line):
            res, nodeid = m.group(1, 2)
        else:
            if STARTED.match(line):
                started.append(line.strip())
            continue
        n[res] += 1
        finished.add(nodeid.strip())
        if res in ("FAILED", "ERROR"):
            bad.append(nodeid.split("::")[-1])
    text = f"no junit; {n['PASSED']} passed, {n['FAILED']} failed, {n['ERROR']} errors, {n['SKIPPED']} skipped so far"
    unfinished = [t.split("::")[-1] for t in dict.fromkeys(started) if t not in finished]
    if unfinished:
        text += "; unfinished: " + ", ".join(unfinished[:4])
    return text, 3, bad


def note_cmd(xml, log):
    text, status, bad = junit_counts(xml) or log_counts(log)
    if bad:
        text += "; failed: " + ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
    print(text)
    return status


# ------------------------------------------------------------------ what this Python has
def have(module):
    return importlib.util.find_spec(module) is not None


def purelib():
    return sysconfig.get_paths()["purelib"]


def in_venv():
    return sys.prefix != sys.base_prefix


def preflight_facts():
    print("python", sys.version.split()[0], sys.executable)
    inc = sysconfig.get_paths()["include"]
    print("python_h", "yes" if os.path.isfile(os.path.join(inc, "Python.h")) else "no", inc)
    print("site", "venv" if in_venv() else "system", purelib(),
          "writable" if os.access(purelib(), os.W_OK) else "read-only")
    for mod, dist in PACKAGES:
        if not have(mod):
            print("pkg", mod, "missing")
            continue
        try:
            version = md.version(dist)
        except md.PackageNotFoundError:
            version = next((md.version(d) for d in md.packages_distributions().get(mod, [])), "present")
        print("pkg", mod, version)


def probe():
    session = False
    if have("pytest_timeout"):
        with open(importlib.util.find_spec("pytest_timeout").origin) as fh:
            session = "--session-timeout" in fh.read()
    nodeps = not all(have(m) for m in ("numpy", "safetensors", "tqdm", "pytest", "hypothesis"))
    user = not in_venv() and not os.access(purelib(), os.W_OK)
    print(int(have("xdist")), int(have("pytest_timeout")), int(session), int(nodeps), int(user))


# ------------------------------------------------------------------ pydl, once installed
def cuda_seen(pydl):
    """(True, device name) or (False, why not)."""
    if pydl.cuda.is_available():
        return True, pydl.cuda.get_device_name(0)
    return False, pydl.cuda.unavailable_reason()


def pydl_fact():
    import pydl
    print(pydl.__file__, "| cuda:", pydl.cuda.is_available() or pydl.cuda.unavailable_reason())


def cuda_check():
    import pydl
    ok, seen = cuda_seen(pydl)
    print("pydl", pydl.__file__, "| cuda:", seen)
    return 0 if ok else 1


def import_check(note):
    import pydl
    from pydl import _C

    print("pydl", pydl.__file__, "| _C", _C.__file__)
    ok, seen = cuda_seen(pydl)
    seen = seen if ok else "no CUDA device: " + seen
    print("pydl sees", seen)
    with open(note, "a") as fh:
        print("pydl sees", seen, file=fh)
    # With a GPU (or the emulation) pydl must see it; NO_GPU_OK builds on a box without one.
    return 0 if ok or (os.environ.get("GPU_OK") != "1" and os.environ.get("EMULATE") != "1") else 1


def sanitizer_probe():
    import pydl
    if not pydl.cuda.is_available():
        raise SystemExit("pydl sees no CUDA device under compute-sanitizer: " + pydl.cuda.unavailable_reason())
    x = pydl.ones(1000, device="cuda")
    print("probe ok", float((x * 2).sum().item()))


COMMANDS = {"pytest-note": note_cmd, "preflight-facts": preflight_facts, "probe": probe, "pydl-fact": pydl_fact,
            "cuda-check": cuda_check, "import-check": import_check, "sanitizer-probe": sanitizer_probe}


# ------------------------------------------------------------------ the pytest plugin
_config = None


def pytest_configure(config):
    global _config
    _config = config


def pytest_runtest_logreport(report):
    if not report.failed or _config is None or hasattr(_config, "workerinput"):
        return
    tr = _config.pluginmanager.get_plugin("terminalreporter")
    if tr is None:
        return
    lines = report.longreprtext.splitlines()
    if len(lines) > 80:
        lines = lines[:20] + ["[...]"] + lines[-60:]
    tr.ensure_newline()
    tr.write_line(f"---- {report.nodeid} failed ({report.when}):")
    for line in lines:
        tr.write_line("    " + line)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(COMMANDS)}}} [ARGS]")
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
