#!/usr/bin/env bash
# One-shot GPU check for a machine with one CUDA GPU and no network (written for an H100/H200 with
# Python, PyTorch, pytest and compute-sanitizer): build pydl with the CUDA backend, run the CUDA
# tests, compute-sanitizer on subsets and the GPU benchmarks, each step under its own timeout and
# all of it inside one wall-clock budget, packed as it goes so that a killed run still reports.
#
#   OUT=/some/dir bash bench/gpu_check.sh                      # the default steps, in this order
#   STEPS="tests-cuda bench" OUT=... bash bench/gpu_check.sh   # preflight always runs first
#   DRY_RUN=1 bash bench/gpu_check.sh                          # print the plan, run nothing
#   EMULATE=1 SKIP_BUILD=1 CUDA_TEST_K=... OUT=... bash bench/gpu_check.sh  # rehearse, no GPU
#
# Steps, budgets in seconds (BUDGET_<STEP> overrides one, '-' as '_': BUDGET_TESTS_CUDA=200):
#   preflight      10  GPU/driver (nvidia-smi), nvcc, Python.h, pybind11, scikit-build-core, cmake,
#                      pytest (+xdist, +timeout), compute-sanitizer, pydl: facts to env.txt; anything
#                      the build or the tests need missing (or no GPU) fails it, later steps not run
#   build         140  PYDL_CUDA=ON pip install -v --no-index --no-build-isolation -e ".[test]",
#                      only the GPU's arch (CUDAARCHS), -lineinfo; then pydl must see the GPU (if
#                      not, later steps are not run)
#   tests-cuda    120  PYDL_CUDA_SYNC=1 pytest tests -k cuda (every CUDA test and cuda variant),
#                      --maxfail=MAXFAIL, --timeout=TEST_TIMEOUT per test, -n XDIST_WORKERS
#   memcheck       60  compute-sanitizer memcheck, exact-size blocks, 116 tests: MLP step, GEMM
#                      ragged edges, conv, pooling, batchnorm, softmax/CE, index ops, dropout
#   racecheck      30  racecheck, 24 tests of the kernels that use shared memory
#   initcheck      20  initcheck, exact-size blocks, 12 tests
#   bench-gemm     40  bench/gpu_gemm.py --quick                 } each writes
#   bench-kernels  20  bench/gpu_kernels.py --repeat 10          } bench/results/<gpu>-*.json,
#   bench-conv     20  bench/gpu_conv.py --repeat 10             } packed into results/
#   bench-train    15  bench/train_step.py --device cuda --repeat 9
#   tests-other    60  pytest -k "not cuda" less training/lab (CPU side; CI runs it; not in all)
# Aliases: all (the default: every step but tests-other), tests, sanitizer, bench. The defaults
# add up to 475 of TOTAL_BUDGET=480 (a 600 s call less margin). A step's timeout is min(budget,
# what is left of the total); with under MIN_STEP_S=10 left it is skipped.
#
# Output, and nothing else, in $OUT: summary.txt (one line per step, "STATUS step seconds note",
# STATUS PASS|FAIL|TIMEOUT|SKIP, RUNNING/PENDING while under way) and gpu_check.tgz holding
# gpu_check/{summary.txt,env.txt,nvidia-smi.txt,logs/<step>.log,junit/<step>.xml,results/*.json}.
# Both are rewritten after every step, every PACK_EVERY=15 s during one, and on EXIT/INT/TERM/HUP
# (a step running then is recorded TIMEOUT, the rest SKIP).
# pytest logs are -v and list failures as they happen, so a killed step still tells what ran.
# Exit status: 0 when every step passed or was skipped for no fault (sanitizer missing or refusing
# the device, no GPU in a rehearsal, SKIP_BUILD=1), 1 otherwise, 2 bad usage.
#
# Rehearsals without a GPU: NO_GPU_OK=1 runs the steps that need none (build, tests-other) and
# skips the rest; EMULATE=1 also runs tests-cuda on pydl's CPU emulation of CUDA (the build uses
# PYDL_CUDA=EMULATE; SKIP_BUILD=1 takes the installed pydl), sanitizers and benchmarks SKIP.
# Other knobs: PYTHON, CUDAARCHS, BUILD_MODE=editable|wheel, XDIST_WORKERS=4 (0: off), MAXFAIL=50,
# SAN_MAXFAIL=10, TEST_TIMEOUT=60, SAN_TEST_TIMEOUT=30, SANITIZER, KILL_GRACE; for the pytest steps
# <S>_PATHS (files, relative to the repo), <S>_K (-k expression), <S>_ARGS (more words) with <S> in
# CUDA_TEST, OTHER_TEST, MEMCHECK, RACECHECK, INITCHECK; GEMM_ARGS, KERNELS_ARGS, CONV_ARGS, TRAIN_ARGS.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-${TMPDIR:-/tmp}/pydl_gpu_check}
ARCHIVE=gpu_check.tgz
TOTAL_BUDGET=${TOTAL_BUDGET:-480}
MIN_STEP_S=${MIN_STEP_S:-10}
KILL_GRACE=${KILL_GRACE:-5}
PACK_EVERY=${PACK_EVERY:-15}
DRY_RUN=${DRY_RUN:-0}
NO_GPU_OK=${NO_GPU_OK:-0}
EMULATE=${EMULATE:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
BUILD_MODE=${BUILD_MODE:-editable}
PY=${PYTHON:-$(command -v python || command -v python3 || echo python3)}
SANITIZER=${SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 8)}
MAXFAIL=${MAXFAIL:-50}
SAN_MAXFAIL=${SAN_MAXFAIL:-10}
TEST_TIMEOUT=${TEST_TIMEOUT:-60}
SAN_TEST_TIMEOUT=${SAN_TEST_TIMEOUT:-30}
SESSION_MARGIN=${SESSION_MARGIN:-8}   # pytest stops this long before its step's timeout (junit intact)
if [[ $EMULATE == 1 ]]; then
  XDIST_WORKERS=${XDIST_WORKERS:-0}
  BUILD_PYDL_CUDA=${PYDL_CUDA:-EMULATE}
else
  XDIST_WORKERS=${XDIST_WORKERS:-4}
  BUILD_PYDL_CUDA=${PYDL_CUDA:-ON}
fi

# Test selections. Paths are relative to the repo (or absolute): pytest runs from a scratch
# directory, against the installed pydl, never the source tree.
CUDA_TEST_PATHS=${CUDA_TEST_PATHS:-tests}
CUDA_TEST_K=${CUDA_TEST_K-cuda}
CUDA_TEST_ARGS=${CUDA_TEST_ARGS:-}
OTHER_TEST_PATHS=${OTHER_TEST_PATHS:-tests}
OTHER_TEST_K=${OTHER_TEST_K-not cuda}
OTHER_TEST_ARGS=${OTHER_TEST_ARGS---ignore=tests/test_training.py --ignore=tests/test_lab.py}
# Under the sanitizers: representative subsets sized to the budgets (collect them with
# `pytest --collect-only -q -k ...`), no PyTorch oracles, no training runs.
if [[ -z ${MEMCHECK_PATHS:-} ]]; then
  MEMCHECK_PATHS="tests/test_cuda_mlp.py tests/test_cuda_gemm.py tests/test_cuda_conv.py"
  MEMCHECK_PATHS+=" tests/test_index_ops.py tests/test_cuda_parity.py"
fi
if [[ -z ${MEMCHECK_K:-} ]]; then
  MEMCHECK_K="(test_cuda_mlp and (mlp_gradients_match_cpu or dropout_module_and_backward or float32-1234"
  MEMCHECK_K+=" or (softmax_forward_backward and float32 and (1025 or 32003 or 4-5-6))"
  MEMCHECK_K+=" or (test_cross_entropy and float32 and mean-0.1-True and (1003 or 32000 or 4-5))"
  MEMCHECK_K+=" or (batch_norm_training and True-float32) or (nll_loss and mean-True-float32)"
  MEMCHECK_K+=" or (pointwise_losses and 70001-mean-True-float32)"
  MEMCHECK_K+=" or (optimizer_steps and float32 and (adam or momentum))"
  MEMCHECK_K+=" or (activation_forward_backward and 1001-float32)))"
  MEMCHECK_K+=" or (test_cuda_gemm and ((sgemm_every and 130-129-67)"
  MEMCHECK_K+=" or (130-129-67 and (NN or TT) and (tf32_every or (half_every and dt0)))"
  MEMCHECK_K+=" or misaligned or beyond_grid or (linear_epilogues and 130-10-100 and relu)))"
  MEMCHECK_K+=" or (test_cuda_conv and ((float32 and ((conv2d_matches_cpu and 67) or (max_pool2d_matches and True)"
  MEMCHECK_K+=" or avg_pool2d_matches or adaptive_avg_pool2d)) or lenet5_forward_backward or basic_block"
  MEMCHECK_K+=" or low_level_ops or non_contiguous_unbatched))"
  MEMCHECK_K+=" or (test_index_ops and cuda and ((float32 and scatter_add) or index_add_repeated"
  MEMCHECK_K+=" or uint8_accumulation))"
  MEMCHECK_K+=" or (test_cuda_parity and (gather_scatter_add or index_select_index_add or strided_and_offset"
  MEMCHECK_K+=" or matmul_batched_broadcast_vectors_float64))"
fi
MEMCHECK_ARGS=${MEMCHECK_ARGS:-}
if [[ -z ${RACECHECK_PATHS:-} ]]; then
  RACECHECK_PATHS="tests/test_cuda_gemm.py tests/test_cuda_mlp.py tests/test_cuda_conv.py"
  RACECHECK_PATHS+=" tests/test_cuda_parity.py"
fi
if [[ -z ${RACECHECK_K:-} ]]; then
  RACECHECK_K="(test_cuda_gemm and 130-129-67 and NN and (sgemm_every or tf32_every or (half_every and dt0)))"
  RACECHECK_K+=" or (test_cuda_mlp and float32 and ((softmax_forward_backward and 1025)"
  RACECHECK_K+=" or (test_cross_entropy and mean-0.1-True and (1003 or 64-10))"
  RACECHECK_K+=" or (batch_norm_training and True-float32 and (512 or 64))"
  RACECHECK_K+=" or (nll_loss and mean-True) or (pointwise_losses and 70001-sum-False-float32-mse)))"
  RACECHECK_K+=" or (test_cuda_conv and (weight_gradient_is_reproducible or low_level_ops))"
  RACECHECK_K+=" or (test_cuda_parity and (matmul_batched_broadcast_vectors_float64"
  RACECHECK_K+=" or (test_reductions and 200000 and (sum or var))))"
fi
RACECHECK_ARGS=${RACECHECK_ARGS:-}
if [[ -z ${INITCHECK_PATHS:-} ]]; then
  INITCHECK_PATHS="tests/test_cuda_gemm.py tests/test_cuda_mlp.py tests/test_cuda_conv.py"
  INITCHECK_PATHS+=" tests/test_index_ops.py tests/test_cuda_runtime.py"
fi
if [[ -z ${INITCHECK_K:-} ]]; then
  INITCHECK_K="(test_cuda_gemm and beta_zero and (sgemm_128x128 or mma_128x128))"
  INITCHECK_K+=" or (test_cuda_mlp and (mlp_gradients_match_cpu or dropout_module_and_backward or float32-adam]"
  INITCHECK_K+=" or (softmax_forward_backward and float32 and 1025) or (batch_norm_training and True-float32 and 512)"
  INITCHECK_K+=" or (test_cross_entropy and float32 and mean-0.1-True and 1003)))"
  INITCHECK_K+=" or (test_cuda_conv and lenet5_forward_backward)"
  INITCHECK_K+=" or (test_index_ops and uint8_accumulation and cuda-13) or (test_cuda_runtime and empty_and_zero_d)"
fi
INITCHECK_ARGS=${INITCHECK_ARGS:-}
GEMM_ARGS=${GEMM_ARGS:---quick}
KERNELS_ARGS=${KERNELS_ARGS:---repeat 10}
CONV_ARGS=${CONV_ARGS:---repeat 10}
TRAIN_ARGS=${TRAIN_ARGS:---device cuda --repeat 9}

ALL_STEPS="preflight build tests-cuda memcheck racecheck initcheck bench-gemm bench-kernels bench-conv bench-train"
declare -A DEFAULT_BUDGET=([preflight]=10 [build]=140 [tests-cuda]=120 [memcheck]=60 [racecheck]=30
                           [initcheck]=20 [bench-gemm]=40 [bench-kernels]=20 [bench-conv]=20
                           [bench-train]=15 [tests-other]=60)
# none: runs anywhere; cuda: a GPU or, with EMULATE=1, the emulation; gpu: a real GPU
declare -A NEEDS=([preflight]=none [build]=none [tests-cuda]=cuda [tests-other]=none [memcheck]=gpu
                  [racecheck]=gpu [initcheck]=gpu [bench-gemm]=gpu [bench-kernels]=gpu [bench-conv]=gpu
                  [bench-train]=gpu)
PYTEST_STEPS=" tests-cuda tests-other memcheck racecheck initcheck "

usage_error() { echo "gpu_check: $*" >&2; exit 2; }

# ------------------------------------------------------------------ which steps, what budgets
expand_steps() {  # preflight first, each step once
  local s out="" seen=" preflight "
  for s in ${STEPS:-all}; do
    case $s in
      all) s=$ALL_STEPS ;;
      tests) s="tests-cuda tests-other" ;;
      sanitizer|sanitizers) s="memcheck racecheck initcheck" ;;
      bench) s="bench-gemm bench-kernels bench-conv bench-train" ;;
      *) [[ -v "DEFAULT_BUDGET[$s]" ]] ||
           usage_error "unknown step '$s' (known: $ALL_STEPS tests-other; aliases: all tests sanitizer bench)" ;;
    esac
    local one
    for one in $s; do
      [[ $seen == *" $one "* ]] || { out+=" $one"; seen+="$one "; }
    done
  done
  echo "preflight$out"
}

budget_of() {  # BUDGET_TESTS_CUDA overrides tests-cuda's default
  local var="BUDGET_${1//-/_}"
  var=${var^^}
  echo "${!var:-${DEFAULT_BUDGET[$1]}}"
}

check_usage() {
  local v
  for v in TOTAL_BUDGET MIN_STEP_S KILL_GRACE PACK_EVERY XDIST_WORKERS MAXFAIL SAN_MAXFAIL TEST_TIMEOUT \
           SAN_TEST_TIMEOUT SESSION_MARGIN; do
    [[ ${!v} =~ ^[0-9]+$ ]] || usage_error "$v=${!v}: not a whole number of seconds/count"
  done
  for v in $SELECTED; do
    [[ $(budget_of "$v") =~ ^[0-9]+$ ]] || usage_error "budget of $v is '$(budget_of "$v")': not a number"
  done
  [[ $BUILD_MODE == editable || $BUILD_MODE == wheel ]] || usage_error "BUILD_MODE=$BUILD_MODE: editable or wheel"
  [[ -n $OUT ]] || usage_error "OUT is empty"
}

# ------------------------------------------------------------------ helpers (steps run them too)
now() { printf '%(%s)T' -1; }

q() {  # words as a shell would read them back
  local w out=""
  for w in "$@"; do
    if [[ $w =~ ^[A-Za-z0-9_./=:,+@%-]+$ ]]; then out+="$w "; else out+="'${w//\'/\'\\\'\'}' "; fi
  done
  echo "${out% }"
}

repo_words() {  # WORDS: split on blanks; paths (also --ignore=/--deselect= ones) relative to the repo made absolute
  local w p words=()
  read -r -a words <<< "$1"
  for w in "${words[@]}"; do
    case $w in
      --ignore=*|--deselect=*) p=${w#*=}; [[ $p == /* || ! -e $REPO/${p%%::*} ]] || w="${w%%=*}=$REPO/$p" ;;
      -*) ;;
      *) [[ $w == /* || ! -e $REPO/${w%%::*} ]] || w="$REPO/$w" ;;
    esac
    printf '%s\n' "$w"
  done
}

# pytest_cmd STEP PER_TEST_TIMEOUT WORKERS MAXFAIL PATHS K ARGS: appends the pytest words to CMD.
# Failures are printed as they happen (gpu_check_pytest, written to the scratch directory).
pytest_cmd() {
  local step=$1 per_test=$2 workers=$3 maxfail=$4 paths=$5 k=$6 args=$7 w
  ((HAVE_XDIST == 1)) || workers=0
  if ((workers > 0)) && [[ -z ${OMP_NUM_THREADS:-} ]]; then  # the workers share the cores
    w=$(($(nproc 2>/dev/null || echo "$workers") / workers))
    ((w > 0)) || w=1
    CMD+=("OMP_NUM_THREADS=$w" "OPENBLAS_NUM_THREADS=$w" "MKL_NUM_THREADS=$w")
  fi
  CMD+=("$PY" -m pytest -p no:cacheprovider -p gpu_check_pytest -v -ra --durations=15 --color=no
        --junitxml="$PACKDIR/junit/$step.xml" --maxfail="$maxfail" --ignore="$REPO/tests/test_gpu_check.py")
  if ((HAVE_TIMEOUT == 1)); then
    CMD+=(--timeout="$per_test")
    # A test stuck in a CUDA call ignores signals: under xdist the thread method ends its worker
    # (and names the test); alone it would end the whole run, so there the signal method.
    ((workers > 0)) && CMD+=(-o timeout_method=thread)
    ((HAVE_SESSION_TIMEOUT == 1 && STEP_T > 3 * SESSION_MARGIN)) && CMD+=(--session-timeout=$((STEP_T - SESSION_MARGIN)))
  fi
  ((workers > 0)) && CMD+=(-n "$workers")
  [[ -n $k ]] && CMD+=(-k "$k")
  while IFS= read -r w; do CMD+=("$w"); done < <(repo_words "$paths $args")
}

PYENV=()  # the environment of every Python a step runs
set_pyenv() { PYENV=(env PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 "PYTHONPATH=$SCRATCH${PYTHONPATH:+:$PYTHONPATH}"); }

cmd_build() {
  local target=".[test]" mode=() cfg=()
  [[ $BUILD_NODEPS == 1 ]] && target="."
  [[ $BUILD_MODE == editable ]] && mode=(-e)
  if [[ $BUILD_PYDL_CUDA == EMULATE ]]; then
    cfg=(-C "build-dir=build/emu-{wheel_tag}")
  else
    # CUDAARCHS only seeds a fresh CMake cache; the define also overrides an existing one.
    cfg=(--config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES="$CUDAARCHS"
         --config-settings=cmake.define.CMAKE_CUDA_FLAGS=-lineinfo)
  fi
  CMD=("${PYENV[@]}" PYDL_CUDA="$BUILD_PYDL_CUDA" CMAKE_BUILD_PARALLEL_LEVEL="$CMAKE_BUILD_PARALLEL_LEVEL"
       PIP_BREAK_SYSTEM_PACKAGES=1 "$PY" -m pip install -v --no-index --no-build-isolation)
  [[ $BUILD_NODEPS == 1 ]] && CMD+=(--no-deps)
  [[ $BUILD_USER == 1 ]] && CMD+=(--user)
  CMD+=("${cfg[@]}" "${mode[@]}" "$target")
}
cmd_tests_cuda() {
  CMD=("${PYENV[@]}" PYDL_CUDA_SYNC=1)
  pytest_cmd tests-cuda "$TEST_TIMEOUT" "$XDIST_WORKERS" "$MAXFAIL" "$CUDA_TEST_PATHS" "$CUDA_TEST_K" "$CUDA_TEST_ARGS"
}
cmd_tests_other() {
  CMD=("${PYENV[@]}")
  pytest_cmd tests-other "$TEST_TIMEOUT" "$XDIST_WORKERS" "$MAXFAIL" "$OTHER_TEST_PATHS" "$OTHER_TEST_K" "$OTHER_TEST_ARGS"
}
# Under memcheck and initcheck every tensor gets a block of its exact size (PYDL_CUDA_NO_CACHING=1),
# so a read past its end or of memory never written is an error the tool sees.
cmd_sanitizer() {  # TOOL EXACT PATHS K ARGS
  CMD=("${PYENV[@]}" PYDL_CUDA_NO_CACHING="$2" PYDL_CUDA_SYNC=1 "$SANITIZER" --tool "$1" --error-exitcode 86)
  pytest_cmd "$1" "$SAN_TEST_TIMEOUT" 0 "$SAN_MAXFAIL" "$3" "$4" "$5"
}
cmd_memcheck() { cmd_sanitizer memcheck 1 "$MEMCHECK_PATHS" "$MEMCHECK_K" "$MEMCHECK_ARGS"; }
cmd_racecheck() { cmd_sanitizer racecheck 0 "$RACECHECK_PATHS" "$RACECHECK_K" "$RACECHECK_ARGS"; }
cmd_initcheck() { cmd_sanitizer initcheck 1 "$INITCHECK_PATHS" "$INITCHECK_K" "$INITCHECK_ARGS"; }
cmd_bench() {  # SCRIPT ARGS
  local args=()
  read -r -a args <<< "$2"
  CMD=("${PYENV[@]}" "$PY" "$REPO/bench/$1" "${args[@]}")
}
cmd_bench_gemm() { cmd_bench gpu_gemm.py "$GEMM_ARGS"; }
cmd_bench_kernels() { cmd_bench gpu_kernels.py "$KERNELS_ARGS"; }
cmd_bench_conv() { cmd_bench gpu_conv.py "$CONV_ARGS"; }
cmd_bench_train() { cmd_bench train_step.py "$TRAIN_ARGS"; }

describe() {  # what a step runs, one line
  if [[ $1 == preflight ]]; then
    echo "nvidia-smi (GPU, compute capability, driver), nvcc, Python.h, pip, pybind11, scikit_build_core," \
         "cmake, pytest/xdist/timeout, compute-sanitizer, pydl; facts to env.txt, nvidia-smi.txt"
    return
  fi
  CMD=()
  "cmd_${1//-/_}"
  q "${CMD[@]:${#PYENV[@]}}"  # (every Python runs under PYENV, from the scratch directory)
}

note() { echo "$*" >> "$STAGE/notes/$CURRENT_STEP"; }

# pytest_note XML LOG: "P passed, F failed, E errors, S skipped[; failed: a, b, c]" from the junit
# report, or counted from the -v log when there is none ("... so far"). Status 0: some test ran;
# 1: none ran (all skipped or deselected); 3: no junit report.
pytest_note() {
  "$PY" - "$1" "$2" <<'PYEOF'
import re
import sys
import xml.etree.ElementTree as ET

xml, log = sys.argv[1], sys.argv[2]
bad = []
try:
    root = ET.parse(xml).getroot()
except Exception:  # noqa: BLE001 (missing or cut short: pytest was killed)
    root = None
if root is not None:
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    t, f, e, s = (sum(int(x.get(k, 0)) for x in suites) for k in ("tests", "failures", "errors", "skipped"))
    p = t - f - e - s
    bad = [c.get("name", "?") for c in root.iter("testcase")
           if c.find("failure") is not None or c.find("error") is not None]
    text, status = f"{p} passed, {f} failed, {e} errors, {s} skipped", (0 if p + f + e > 0 else 1)
else:
    n = dict.fromkeys(("PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS"), 0)
    words = "PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS"
    plain = re.compile(rf"^(\S+::.*?) ({words})\b")                    # path::test PASSED [ 3%]
    xdist = re.compile(rf"^\[gw\d+\] \[ *\d+%\] ({words}) (\S+::.*)$")  # [gw0] [ 3%] PASSED path::test
    try:
        with open(log, errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        lines = []
    started, finished = [], set()
    for line in lines:
        m = plain.match(line)
        if m:
            nodeid, res = m.group(1), m.group(2)
        elif xdist.match(line):
            res, nodeid = xdist.match(line).group(1, 2)
        else:
            if re.match(r"^\S+::\S", line):  # xdist: a test began; alone: one that never ended
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
    status = 3
if bad:
    text += "; failed: " + ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
print(text)
sys.exit(status)
PYEOF
}

cuda_check() {  # pydl imports (from the scratch directory) and has a CUDA device
  (cd "$SCRATCH" && "${PYENV[@]}" "$PY" -c '
import sys
import pydl
ok = pydl.cuda.is_available()
print("pydl", pydl.__file__, "| cuda:", pydl.cuda.get_device_name(0) if ok else pydl.cuda.unavailable_reason())
sys.exit(0 if ok else 1)') || { note "pydl sees no CUDA device (see the log)"; return 1; }
}

# ------------------------------------------------------------------ the steps
# Each runs under `timeout` in a child bash (functions and settings exported), stdout and stderr
# to logs/<step>.log; a step may leave a line for the summary in $STAGE/notes/<step>. Exit 77: SKIP.

step_preflight() {
  local env=$PACKDIR/env.txt smi=$PACKDIR/nvidia-smi.txt fatal=() summary=() v
  fact() { printf '%-24s %s\n' "$1:" "$2" | tee -a "$env"; }
  need() { fatal+=("$1"); echo "gpu_check: MISSING: $1"; }
  local builds=0 tests=0 uses_pydl=0
  [[ " $SELECTED " == *" build "* && $SKIP_BUILD != 1 ]] && builds=1
  [[ " $SELECTED " =~ \ (tests-|memcheck|racecheck|initcheck) ]] && tests=1
  [[ " $SELECTED " =~ \ (tests-|memcheck|racecheck|initcheck|bench-) ]] && uses_pydl=1

  : > "$env"
  fact date "$(date -Is)"
  v=$(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB memory"}')
  fact host "$(hostname 2>/dev/null); $(nproc 2>/dev/null) cpus; $v"
  fact disk "$(df -Pk "$REPO" 2>/dev/null | awk 'NR == 2 {printf "%.0f GiB free", $4 / 1048576}') under $REPO"
  v="$(git -C "$REPO" status --short 2>/dev/null | wc -l) changed files"
  fact commit "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo n/a) ($v)"
  fact mode "GPU_OK=$GPU_OK EMULATE=$EMULATE NO_GPU_OK=$NO_GPU_OK SKIP_BUILD=$SKIP_BUILD; steps: $SELECTED"

  # GPU and driver
  if [[ $GPU_OK == 1 ]]; then
    v=$(timeout 20 nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm,power.limit \
          --format=csv,noheader 2>&1 | head -1)
    fact gpu "$v"
    summary+=("$(cut -d, -f1 <<<"$v" | xargs) sm_$GPU_ARCH, driver $(cut -d, -f3 <<<"$v" | xargs)")
  else
    fact gpu "none: $GPU_WHY"
    echo "no GPU: $GPU_WHY" > "$smi"
    if [[ $NO_GPU_OK == 1 || $EMULATE == 1 ]]; then summary+=("no GPU (rehearsal)")
    else need "a CUDA GPU ($GPU_WHY; NO_GPU_OK=1 or EMULATE=1 rehearse without one)"; fi
  fi

  # Python and its packages, in one interpreter start
  local pyfacts
  if ! pyfacts=$(cd "$SCRATCH" && "$PY" - 2>&1 <<'PYEOF'
import importlib.metadata as md
import importlib.util
import os
import sys
import sysconfig

print("python", sys.version.split()[0], sys.executable)
inc = sysconfig.get_paths()["include"]
print("python_h", "yes" if os.path.isfile(os.path.join(inc, "Python.h")) else "no", inc)
venv = sys.prefix != sys.base_prefix
purelib = sysconfig.get_paths()["purelib"]
print("site", "venv" if venv else "system", purelib, "writable" if os.access(purelib, os.W_OK) else "read-only")
for mod, dist in [("pip", "pip"), ("numpy", "numpy"), ("safetensors", "safetensors"), ("tqdm", "tqdm"),
                  ("pytest", "pytest"), ("hypothesis", "hypothesis"), ("xdist", "pytest-xdist"),
                  ("pytest_timeout", "pytest-timeout"), ("pybind11", "pybind11"),
                  ("scikit_build_core", "scikit-build-core"), ("cmake", "cmake"), ("ninja", "ninja"),
                  ("torch", "torch"), ("cupy", "cupy"), ("pydl", "pydl")]:
    if importlib.util.find_spec(mod) is None:
        print("pkg", mod, "missing")
        continue
    try:
        version = md.version(dist)
    except md.PackageNotFoundError:
        version = next((md.version(d) for d in md.packages_distributions().get(mod, [])), "present")
    print("pkg", mod, version)
PYEOF
  ); then
    echo "$pyfacts"
    need "a working Python ($PY)"
  fi
  local -A pkg=()
  local line
  while read -r line; do
    # shellcheck disable=SC2086  # the facts are words
    set -- $line
    case $1 in
      python) fact python "$2 ($3)"; summary+=("Python $2") ;;
      python_h) fact Python.h "$2 ($3)"; [[ $2 == yes || $builds == 0 ]] || need "Python.h (python headers, $3)" ;;
      site) fact site-packages "$2 $3 ($4)" ;;
      pkg) pkg[$2]=$3; fact "$2 (python)" "$3" ;;
    esac
  done <<< "$pyfacts"
  if ((builds)); then
    [[ ${pkg[pip]:-missing} != missing ]] || need "pip"
    [[ ${pkg[pybind11]:-missing} != missing ]] || need "pybind11"
    [[ ${pkg[scikit_build_core]:-missing} != missing ]] || need "scikit_build_core"
    [[ ${pkg[numpy]:-missing} != missing ]] || need "numpy"
  fi
  if ((tests)); then
    [[ ${pkg[pytest]:-missing} != missing ]] || need "pytest"
    [[ ${pkg[hypothesis]:-missing} != missing ]] || need "hypothesis (tests/conftest.py imports it)"
  fi
  ((uses_pydl && !builds)) && [[ ${pkg[pydl]:-missing} == missing ]] && need "pydl installed (no build step runs)"
  summary+=("torch ${pkg[torch]:-?}" "xdist ${pkg[xdist]:-?}" "pytest-timeout ${pkg[pytest_timeout]:-?}")

  # tools
  v=$(cmake --version 2>/dev/null | head -1)
  fact "cmake (PATH)" "${v:-missing}"
  [[ -n $v || ${pkg[cmake]:-missing} != missing || $builds == 0 ]] || need "cmake"
  fact "ninja (PATH)" "$(ninja --version 2>/dev/null || echo missing)"
  v=$( (c++ --version || g++ --version) 2>/dev/null | head -1)
  fact c++ "${v:-missing}"
  [[ -n $v || $builds == 0 ]] || need "a C++ compiler"
  local nvcc
  nvcc=$(command -v nvcc || { [[ -x /usr/local/cuda/bin/nvcc ]] && echo /usr/local/cuda/bin/nvcc; })
  v=$([[ -n $nvcc ]] && "$nvcc" --version 2>/dev/null | grep -o 'release [0-9.]*, V[0-9.]*' | head -1)
  fact nvcc "${nvcc:-missing} ${v:-}"
  [[ -n $v ]] && summary+=("nvcc ${v#release }")
  [[ -n $v || $builds == 0 || $BUILD_PYDL_CUDA == EMULATE ]] || need "nvcc (on PATH or /usr/local/cuda/bin)"
  if [[ -x $SANITIZER ]] || command -v "$SANITIZER" >/dev/null 2>&1; then
    v=$("$SANITIZER" --version 2>/dev/null | grep -i version | head -1)
    fact compute-sanitizer "$SANITIZER ${v:-}"
    summary+=("compute-sanitizer ${v##* }")
  else
    fact compute-sanitizer "missing ($SANITIZER): the sanitizer steps SKIP"
    summary+=("NO compute-sanitizer")
  fi

  # The verdict first, then the slower facts: a preflight cut short by its timeout still has one.
  local joined
  if ((${#fatal[@]})); then
    joined=$(printf '%s, ' "${fatal[@]}")
    note "missing: ${joined%, }"
    touch "$STAGE/notes/preflight.fatal"
  else
    joined=$(printf '%s; ' "${summary[@]}")
    note "${joined%; }"
  fi
  [[ $GPU_OK == 1 ]] && { timeout 20 nvidia-smi; timeout 20 nvidia-smi -q; } > "$smi" 2>&1
  v=$(ncu --version 2>/dev/null | tail -1)
  fact ncu "${v:-missing}"
  if [[ ${pkg[pydl]:-missing} != missing ]]; then
    fact "pydl (installed now)" "$(cd "$SCRATCH" && "$PY" -c 'import pydl
print(pydl.__file__, "| cuda:", pydl.cuda.is_available() or pydl.cuda.unavailable_reason())' 2>&1 | tail -1)"
  fi
  "$PY" -m pip list 2>/dev/null > "$LOGS/pip-list.txt"
  ((${#fatal[@]} == 0))
}

step_build() {
  cd "$REPO" || return 1
  echo "gpu_check: PYDL_CUDA=$BUILD_PYDL_CUDA CUDAARCHS=$CUDAARCHS mode=$BUILD_MODE nodeps=$BUILD_NODEPS user=$BUILD_USER"
  cmd_build
  echo "+ $(q "${CMD[@]}")"
  "${CMD[@]}" || { note "pip install failed"; return 1; }
  note "PYDL_CUDA=$BUILD_PYDL_CUDA$([[ $BUILD_PYDL_CUDA == EMULATE ]] || echo " CUDAARCHS=$CUDAARCHS") $BUILD_MODE"
  cd "$SCRATCH" || return 1
  "${PYENV[@]}" "$PY" - "$STAGE/notes/build" <<'PYEOF'
import os
import sys

import pydl
from pydl import _C

print("pydl", pydl.__file__, "| _C", _C.__file__)
ok = pydl.cuda.is_available()
seen = pydl.cuda.get_device_name(0) if ok else "no CUDA device: " + pydl.cuda.unavailable_reason()
print("pydl sees", seen)
with open(sys.argv[1], "a") as note:
    print("pydl sees", seen, file=note)
# With a GPU (or the emulation) pydl must see it; NO_GPU_OK builds on a box without one.
sys.exit(0 if ok or (os.environ["GPU_OK"] != "1" and os.environ["EMULATE"] != "1") else 1)
PYEOF
}

step_tests_cuda() {
  cuda_check || return 1
  cd "$SCRATCH" || return 1
  cmd_tests_cuda
  echo "+ $(q "${CMD[@]}")"
  "${CMD[@]}"
}

step_tests_other() {
  cd "$SCRATCH" || return 1
  cmd_tests_other
  echo "+ $(q "${CMD[@]}")"
  "${CMD[@]}"
}

have_sanitizer() { [[ -x $SANITIZER ]] || command -v "$SANITIZER" >/dev/null 2>&1; }

# Once per run, a trivial allocation under memcheck: some devices (H200 with this toolkit) are
# refused ("Device not supported", then error 999), which is a SKIP, not a failure.
sanitizer_probe() {
  local cache=$STAGE/sanitizer.probe out rc pat="not supported|error 999|cudaErrorUnknown|sees no CUDA device"
  if [[ ! -f $cache ]]; then
    out=$(cd "$SCRATCH" && timeout $((STEP_T / 2)) "${PYENV[@]}" "$SANITIZER" --tool memcheck "$PY" -c '
import pydl
if not pydl.cuda.is_available():
    raise SystemExit("pydl sees no CUDA device under compute-sanitizer: " + pydl.cuda.unavailable_reason())
x = pydl.ones(1000, device="cuda")
print("probe ok", float((x * 2).sum().item()))' 2>&1)
    rc=$?
    echo "gpu_check: sanitizer probe (exit $rc):"
    echo "$out"
    if [[ $rc == 0 && $out == *"probe ok"* ]]; then echo ok > "$cache"
    elif grep -qiE "$pat" <<<"$out"; then grep -m1 -iE "$pat" <<<"$out" | cut -c1-200 > "$cache"
    else echo ok > "$cache"  # inconclusive: let the tests tell
    fi
  fi
  [[ $(cat "$cache") == ok ]] && return 0
  note "compute-sanitizer refuses this device: $(cat "$cache")"
  return 1
}

sanitize() {  # STEP: exit 86 (a FAIL) when the tool reports errors, 77 (SKIP) when it cannot run here
  local step=$1 log=$LOGS/$1.log v
  if ! have_sanitizer; then note "compute-sanitizer not found ($SANITIZER)"; return 77; fi
  cuda_check || return 1
  sanitizer_probe || return 77
  cd "$SCRATCH" || return 1
  "cmd_$step"
  echo "+ $(q "${CMD[@]}")"
  "${CMD[@]}"
  local rc=$?
  if ((rc == 86)); then
    note "$step reported errors: $(grep -m1 -E '^========= +(Invalid|Uninitialized|Race|Error|.*hazard)' "$log" | cut -c11-170)"
    note "$(grep -m1 -E '^========= +(ERROR|RACECHECK) SUMMARY' "$log" | cut -c11-100)"
  elif ((rc != 0)) && ! grep -qE ' PASSED|\] PASSED ' "$log" &&
       grep -qiE "device not supported|error 999|cudaErrorUnknown" "$log"; then
    v=$(grep -m1 -iE 'device not supported|error 999|cudaErrorUnknown' "$log" | cut -c1-150)
    note "compute-sanitizer refuses this device: $v"
    return 77
  fi
  return $rc
}
step_memcheck() { sanitize memcheck; }
step_racecheck() { sanitize racecheck; }
step_initcheck() { sanitize initcheck; }

# The bench scripts exit 0 with a message when pydl sees no GPU: a failure here, and so is a run
# that wrote no result file.
bench() {
  cd "$SCRATCH" || return 1
  "cmd_$1"
  echo "+ $(q "${CMD[@]}")"
  "${CMD[@]}" || return 1
  if grep -q "nothing to measure\|needs a CUDA GPU" "$LOGS/$CURRENT_STEP.log"; then
    note "measured nothing: pydl sees no GPU"
    return 1
  fi
  local f wrote=()
  for f in "$REPO"/bench/results/*.json; do
    if [[ -f $f && $f -nt $STAMP ]]; then
      cp "$f" "$PACKDIR/results/" && wrote+=("$(basename "$f")")
    fi
  done
  touch "$STAMP"
  ((${#wrote[@]})) || { note "wrote no bench/results/*.json"; return 1; }
  note "results/${wrote[*]}"
}
step_bench_gemm() { bench bench_gemm; }
step_bench_kernels() { bench bench_kernels; }
step_bench_conv() { bench bench_conv; }
step_bench_train() { bench bench_train; }

# ------------------------------------------------------------------ GPU and Python, once
detect_gpu() {  # sets GPU_OK, GPU_WHY, GPU_ARCH, GPU_NAME
  GPU_OK=0 GPU_WHY="" GPU_ARCH="" GPU_NAME=""
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    GPU_WHY="nvidia-smi not found on PATH"
    return
  fi
  local list rc
  list=$(timeout 20 nvidia-smi -L 2>&1)
  rc=$?
  if [[ $rc != 0 ]] || ! grep -q "^GPU [0-9]" <<<"$list"; then
    GPU_WHY="nvidia-smi -L: $(head -c 200 <<<"$list" | tr '\n' ' ')(exit $rc)"
    return
  fi
  GPU_OK=1
  local q
  q=$(timeout 20 nvidia-smi --query-gpu=compute_cap,name --format=csv,noheader 2>/dev/null | head -1)
  GPU_ARCH=$(cut -d, -f1 <<<"$q" | tr -d ' .')
  GPU_NAME=$(cut -d, -f2- <<<"$q" | xargs)
}

probe_python() {  # HAVE_XDIST, HAVE_TIMEOUT, HAVE_SESSION_TIMEOUT, BUILD_NODEPS, BUILD_USER
  local facts
  facts=$("$PY" - 2>/dev/null <<'PYEOF'
import importlib.util as u
import os
import sys
import sysconfig

have = lambda m: u.find_spec(m) is not None  # noqa: E731
session = False
if have("pytest_timeout"):
    import pytest_timeout
    with open(pytest_timeout.__file__) as fh:
        session = "--session-timeout" in fh.read()
deps = all(have(m) for m in ("numpy", "safetensors", "tqdm", "pytest", "hypothesis"))
venv = sys.prefix != sys.base_prefix
user = not venv and not os.access(sysconfig.get_paths()["purelib"], os.W_OK)
print(int(have("xdist")), int(have("pytest_timeout")), int(session), int(not deps), int(user))
PYEOF
  )
  read -r HAVE_XDIST HAVE_TIMEOUT HAVE_SESSION_TIMEOUT BUILD_NODEPS BUILD_USER <<< "${facts:-0 0 0 0 0}"
}

# ------------------------------------------------------------------ the driver
declare -A STATUS=() SECS=() NOTE=() BAD=() T0=()
FINAL=0
CUR_PID=""
CUR_STEP=""
STOP_REASON=""

summary_line() {
  local s=$1 secs
  case ${STATUS[$s]} in
    RUNNING) secs="$(($(now) - T0[$s]))s" ;;
    PENDING) secs="-" ;;
    *) secs="${SECS[$s]}s" ;;
  esac
  printf "%-7s %-13s %5s  %s\n" "${STATUS[$s]}" "$s" "$secs" "${NOTE[$s]}"
}

result_line() {
  local s failed=() n=0 done=0
  for s in $SELECTED; do
    n=$((n + 1))
    [[ ${STATUS[$s]} == PENDING || ${STATUS[$s]} == RUNNING ]] || done=$((done + 1))
    [[ ${BAD[$s]:-0} == 1 ]] && failed+=("$s ${STATUS[$s]}")
  done
  local list
  list=$(printf '%s, ' "${failed[@]}")
  if ((FINAL)); then
    if ((${#failed[@]})); then echo "result: FAIL, ${#failed[@]} of $n steps did not pass (${list%, }); $(($(now) - START))s"
    else echo "result: PASS, $n steps; $(($(now) - START))s"; fi
  else
    echo "under way: $done of $n steps done; $(($(now) - START))s${CUR_STEP:+; running $CUR_STEP}"
  fi
}

write_summary() {
  local f=$PACKDIR/summary.txt s
  {
    echo "# pydl gpu_check, started $START_DATE: $MODE_LINE; TOTAL_BUDGET ${TOTAL_BUDGET}s"
    for s in $SELECTED; do summary_line "$s"; done
    echo "# $(result_line)"
  } > "$f"
  cp "$f" "$OUT/.summary.txt.part$$" 2>/dev/null && mv -f "$OUT/.summary.txt.part$$" "$OUT/summary.txt"
}

pack() {  # the staging folder as $OUT/gpu_check.tgz, replaced atomically
  local part=$OUT/.$ARCHIVE.part$$ rc
  tar -czf "$part" -C "$STAGE" gpu_check 2>/dev/null
  rc=$?  # 1: a log grew while it was read; the archive is still whole
  if ((rc <= 1)); then mv -f "$part" "$OUT/$ARCHIVE"; else rm -f "$part"; fi
}

finish_step() {  # STEP STATUS SECONDS NOTE BAD
  STATUS[$1]=$2 SECS[$1]=$3 NOTE[$1]=$4 BAD[$1]=$5
  summary_line "$1"
}

step_note() {  # STEP: sets STEP_NOTE, the line a finished (or killed) step leaves, and PYTEST_STATUS
  local step=$1 n="" extra=""
  PYTEST_STATUS=0
  if [[ -f $STAGE/notes/$step ]]; then
    local lines=()
    mapfile -t lines < "$STAGE/notes/$step"
    extra=$(printf '%s; ' "${lines[@]}")
    extra=${extra%; }
  fi
  if [[ $PYTEST_STEPS == *" $step "* ]]; then
    n=$(pytest_note "$PACKDIR/junit/$step.xml" "$LOGS/$step.log")
    PYTEST_STATUS=$?
  fi
  STEP_NOTE="$n${n:+${extra:+; }}$extra" STEP_EXTRA=$extra
}

run_step() {
  local step=$1 fn="step_${1//-/_}" budget log=$LOGS/$1.log
  budget=$(budget_of "$step")
  if [[ -n $STOP_REASON ]]; then finish_step "$step" SKIP 0 "not run: $STOP_REASON" 1; return; fi
  local skip="" bad=0
  case ${NEEDS[$step]} in
    gpu) if [[ $EMULATE == 1 ]]; then skip="no GPU: EMULATE=1 runs the emulation, nothing to check or time"
         elif [[ $GPU_OK != 1 ]]; then skip="no GPU ($GPU_WHY)"; [[ $NO_GPU_OK == 1 ]] || bad=1; fi ;;
    cuda) if [[ $GPU_OK != 1 && $EMULATE != 1 ]]; then
            skip="no GPU ($GPU_WHY); EMULATE=1 runs it on the emulation"; [[ $NO_GPU_OK == 1 ]] || bad=1; fi ;;
  esac
  [[ $step == build && $SKIP_BUILD == 1 ]] && skip="SKIP_BUILD=1: the installed pydl is used"
  if [[ -n $skip ]]; then finish_step "$step" SKIP 0 "$skip" "$bad"; return; fi
  local left t
  left=$((DEADLINE - $(now)))
  t=$((budget < left ? budget : left))
  if ((t < MIN_STEP_S)); then
    finish_step "$step" SKIP 0 "not run: ${left}s left of TOTAL_BUDGET=${TOTAL_BUDGET}s" 1
    return
  fi
  {
    echo "# gpu_check step $step: timeout ${t}s (budget ${budget}s), $(date -Is)"
    echo "# $(STEP_T=$t describe "$step")"
  } > "$log"
  rm -f "$STAGE/notes/$step"
  STATUS[$step]=RUNNING T0[$step]=$(now) NOTE[$step]="timeout ${t}s"
  CUR_STEP=$step
  write_summary
  pack
  STEP_T=$t CURRENT_STEP=$step timeout -k "$KILL_GRACE" "$t" bash -c "set_pyenv; $fn" >> "$log" 2>&1 < /dev/null &
  CUR_PID=$!
  local last
  last=$(now)
  while kill -0 "$CUR_PID" 2>/dev/null; do
    sleep 0.5
    if (($(now) - last >= PACK_EVERY)); then
      if [[ $PYTEST_STEPS == *" $step "* ]]; then
        step_note "$step"
        NOTE[$step]="timeout ${t}s; $STEP_NOTE"
      fi
      write_summary
      pack
      last=$(now)
    fi
  done
  wait "$CUR_PID"
  local rc=$? dt n
  CUR_PID=""
  CUR_STEP=""
  dt=$(($(now) - T0[$step]))
  step_note "$step"
  n=$STEP_NOTE
  if ((rc == 0 && PYTEST_STATUS != 0)); then
    rc=1
    n="no test ran; $n"
  fi
  local killed="killed after ${t}s"
  if ((rc != 0 && rc != 124 && rc != 137)) && grep -qE 'session-timeout: [0-9.]+ sec exceeded' "$log"; then
    rc=124 killed="out of its ${t}s: pytest stopped at --session-timeout"  # (its junit report whole)
  fi
  case $rc in
    0) finish_step "$step" PASS "$dt" "$n" 0 ;;
    77) finish_step "$step" SKIP "$dt" "$STEP_EXTRA" 0 ;;
    124|137) finish_step "$step" TIMEOUT "$dt" "$killed; $n; log: logs/$step.log" 1 ;;
    *) finish_step "$step" FAIL "$dt" "exit $rc; $n; log: logs/$step.log" 1 ;;
  esac
  # A preflight that found something missing stops the run; one merely cut short does not.
  if [[ $step == preflight && $rc != 0 && ($rc != 124 && $rc != 137 || -f $STAGE/notes/preflight.fatal) ]]; then
    STOP_REASON="preflight failed: $STEP_EXTRA"
  elif [[ $step == build && $rc != 0 ]]; then
    STOP_REASON="the build did not pass"
  fi
  if [[ $rc != 0 && $rc != 77 ]]; then
    echo "    --- last lines of logs/$step.log ---"
    tail -n 20 "$log" | cut -c1-240 | sed 's/^/    | /'
  fi
  write_summary
  pack
}

on_signal() {  # the whole run was told to stop: report the running step as killed, then pack
  trap '' INT TERM HUP
  STOP_REASON="gpu_check got SIG$1"
  local s step=""
  echo "gpu_check: SIG$1: stopping"
  for s in $SELECTED; do
    case ${STATUS[$s]} in
      RUNNING) step=$s
               step_note "$s"
               STATUS[$s]=TIMEOUT SECS[$s]=$(($(now) - T0[$s])) BAD[$s]=1
               NOTE[$s]="killed: $STOP_REASON; $STEP_NOTE; log: logs/$s.log" ;;
      PENDING) STATUS[$s]=SKIP SECS[$s]=0 NOTE[$s]="not run: $STOP_REASON" BAD[$s]=1 ;;
    esac
  done
  FINAL=1
  CUR_STEP=""
  write_summary
  pack
  if [[ -n $CUR_PID ]]; then  # timeout passes TERM to the step's process group, KILL after KILL_GRACE
    kill -TERM "$CUR_PID" 2>/dev/null
    wait "$CUR_PID" 2>/dev/null
    if [[ -n $step ]]; then
      step_note "$step"
      NOTE[$step]="killed: $STOP_REASON; $STEP_NOTE; log: logs/$step.log"
    fi
    write_summary
    pack
  fi
  exit 1
}

on_exit() {
  if [[ -n ${STAGE:-} && -d ${STAGE:-} ]]; then
    pack
    rm -rf "$STAGE"
  fi
}

write_plugin() {  # pytest prints each failure's traceback as it happens (a killed run keeps them)
  cat > "$SCRATCH/gpu_check_pytest.py" <<'PYEOF'
"""gpu_check: each failure's traceback in the log at once, not only in the final summary."""
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
PYEOF
}

main() {
  SELECTED=$(expand_steps) || exit 2
  check_usage
  detect_gpu
  CUDAARCHS=${CUDAARCHS:-${GPU_ARCH:-90}}
  [[ $CUDAARCHS =~ ^[0-9]+(\;[0-9]+)*$ ]] || CUDAARCHS=90
  probe_python
  if [[ $EMULATE == 1 ]]; then MODE_LINE="EMULATE=1 rehearsal (no real GPU steps)"
  elif [[ $GPU_OK == 1 ]]; then MODE_LINE="GPU ${GPU_NAME:-?} (sm_$GPU_ARCH)"
  else MODE_LINE="no GPU ($GPU_WHY)$([[ $NO_GPU_OK == 1 ]] && echo "; NO_GPU_OK=1")"; fi
  export REPO OUT PY SANITIZER CUDAARCHS BUILD_MODE BUILD_PYDL_CUDA BUILD_NODEPS BUILD_USER \
    CMAKE_BUILD_PARALLEL_LEVEL GPU_OK GPU_WHY GPU_ARCH EMULATE NO_GPU_OK SKIP_BUILD SELECTED \
    HAVE_XDIST HAVE_TIMEOUT HAVE_SESSION_TIMEOUT XDIST_WORKERS MAXFAIL SAN_MAXFAIL TEST_TIMEOUT \
    SAN_TEST_TIMEOUT SESSION_MARGIN CUDA_TEST_PATHS CUDA_TEST_K CUDA_TEST_ARGS OTHER_TEST_PATHS \
    OTHER_TEST_K OTHER_TEST_ARGS MEMCHECK_PATHS MEMCHECK_K MEMCHECK_ARGS RACECHECK_PATHS RACECHECK_K \
    RACECHECK_ARGS INITCHECK_PATHS INITCHECK_K INITCHECK_ARGS GEMM_ARGS KERNELS_ARGS CONV_ARGS TRAIN_ARGS
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1  # no network: never ask an index

  if [[ $DRY_RUN == 1 ]]; then
    STAGE='<stage>' SCRATCH='<stage>/scratch' PACKDIR='<stage>/gpu_check' STEP_T=0
    set_pyenv
    echo "gpu_check plan (DRY_RUN=1: nothing runs). $MODE_LINE; OUT=$OUT; python $PY" \
         "(xdist $HAVE_XDIST, pytest-timeout $HAVE_TIMEOUT)"
    local s sum=0 b
    for s in $SELECTED; do
      b=$(budget_of "$s")
      sum=$((sum + b))
      printf "  %-13s %4ss  %s%s\n" "$s" "$b" "$(STEP_T=$b describe "$s")" \
        "$([[ ${NEEDS[$s]} == gpu ]] && echo "  [needs a GPU]")"
    done
    printf "  %-13s %4ss  of TOTAL_BUDGET=%ss; a step is skipped with under MIN_STEP_S=%ss left\n" \
      total "$sum" "$TOTAL_BUDGET" "$MIN_STEP_S"
    echo "output: \$OUT/summary.txt and \$OUT/$ARCHIVE (gpu_check/: summary.txt env.txt nvidia-smi.txt" \
         "logs/ junit/ results/)"
    return 0
  fi

  if ! mkdir -p "$OUT" 2>/dev/null || [[ ! -w $OUT ]]; then usage_error "cannot write to OUT=$OUT"; fi
  rm -f "$OUT"/.summary.txt.part* "$OUT"/."$ARCHIVE".part*
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX") || exit 1
  PACKDIR=$STAGE/gpu_check LOGS=$STAGE/gpu_check/logs SCRATCH=$STAGE/scratch STAMP=$STAGE/.stamp
  mkdir -p "$LOGS" "$PACKDIR/junit" "$PACKDIR/results" "$SCRATCH" "$STAGE/notes"
  touch "$STAMP"
  write_plugin
  set_pyenv
  export STAGE PACKDIR LOGS SCRATCH STAMP
  export -f now q repo_words pytest_cmd cmd_build cmd_tests_cuda cmd_tests_other cmd_sanitizer cmd_memcheck \
    cmd_racecheck cmd_initcheck cmd_bench cmd_bench_gemm cmd_bench_kernels cmd_bench_conv cmd_bench_train \
    set_pyenv note pytest_note cuda_check step_preflight step_build step_tests_cuda step_tests_other \
    have_sanitizer sanitizer_probe sanitize step_memcheck step_racecheck step_initcheck bench \
    step_bench_gemm step_bench_kernels step_bench_conv step_bench_train
  trap on_exit EXIT
  trap 'on_signal TERM' TERM
  trap 'on_signal INT' INT
  trap 'on_signal HUP' HUP

  START=$(now) START_DATE=$(date -Is)
  DEADLINE=$((START + TOTAL_BUDGET))
  local s
  for s in $SELECTED; do STATUS[$s]=PENDING NOTE[$s]="budget $(budget_of "$s")s"; done
  echo "gpu_check: $MODE_LINE; steps: $SELECTED; total budget ${TOTAL_BUDGET}s; output in $OUT"
  write_summary
  pack
  for s in $SELECTED; do
    run_step "$s"
  done
  FINAL=1
  write_summary
  pack
  echo "gpu_check: $(result_line); $OUT/summary.txt, $OUT/$ARCHIVE"
  local bad=0
  for s in $SELECTED; do [[ ${BAD[$s]:-0} == 1 ]] && bad=1; done
  return $bad
}

main
