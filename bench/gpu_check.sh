#!/usr/bin/env bash
# One-shot GPU check for a machine with one CUDA GPU (written for an H100/H200 with Python 3.12,
# PyTorch, pytest, compute-sanitizer and no network): build pydl with the CUDA backend, run the
# CUDA tests (then the rest of the suite), memcheck and racecheck on a subset, and the GPU
# benchmarks, each step under its own timeout and all of it inside one wall-clock budget.
#
#   OUT=/some/dir bash bench/gpu_check.sh                      # every step, in the order below
#   STEPS="build tests-cuda bench" OUT=... bash bench/gpu_check.sh
#   DRY_RUN=1 bash bench/gpu_check.sh                          # print the plan, run nothing
#
# Steps (STEPS is a space-separated list, run in the order given; aliases: all, tests,
# sanitizer, bench):
#   smi            nvidia-smi (+ a CSV of the GPU's facts) to $OUT/nvidia-smi.txt
#   build          pip install --no-index --no-build-isolation -e ".[test]" with PYDL_CUDA=ON,
#                  CUDAARCHS = the GPU's compute capability (90 on an H100), then checks that
#                  pydl imports and sees the GPU
#   tests-cuda     PYDL_CUDA_SYNC=1 pytest -m cuda -x (junit: $OUT/logs/cuda-tests.xml)
#   memcheck       compute-sanitizer memcheck on tests/test_cuda_mlp.py and test_cuda_gemm.py
#   racecheck      compute-sanitizer racecheck on the shared-memory kernels' tests (a subset)
#   bench-gemm     bench/gpu_gemm.py --quick     } each writes bench/results/<gpu>-*.json,
#   bench-kernels  bench/gpu_kernels.py          } copied to $OUT/results/
#   bench-conv     bench/gpu_conv.py             }
#   bench-train    bench/train_step.py --device cuda
#   tests-other    pytest -m "not cuda" without the multi-minute training/lab files (junit:
#                  $OUT/logs/other-tests.xml); on a GPU machine their `device` tests run on CUDA too
#
# Output: one line per step on stdout, "PASS|FAIL|TIMEOUT|SKIP <step> <seconds>s <note>", the
# same lines in $OUT/summary.txt, each step's full log in $OUT/logs/<step>.log (the tail of a
# failing step's log is also printed), environment facts in $OUT/logs/env.log.
# Exit status: 0 when every selected step passed, 1 otherwise (2: bad usage).
#
# Without a GPU (nvidia-smi missing or listing none) the first step fails at once with the
# reason and the rest are skipped: nothing hangs, nothing builds. NO_GPU_OK=1 runs the steps
# that need no GPU (build, tests-other) and fails the others at once.
#
# Budgets (seconds; override with BUDGET_<STEP>, '-' as '_', e.g. BUDGET_TESTS_CUDA=200):
# smi 20, build 180, tests-cuda 120, memcheck 90, racecheck 45, bench-gemm 40, bench-kernels 25,
# bench-conv 25, bench-train 25, tests-other 60, and TOTAL_BUDGET=510 for the whole run (a 9-minute
# slot minus margin): each step's timeout is min(its budget, what is left of TOTAL_BUDGET), so
# the sum may exceed the total and only the last steps get squeezed; a step with less than
# MIN_STEP_S (15) left is skipped and counts as a failure.
# Other knobs: PYTHON, CUDAARCHS, BUILD_MODE=editable|wheel, CMAKE_BUILD_PARALLEL_LEVEL,
# SANITIZER (path of compute-sanitizer), CUDA_TEST_ARGS, OTHER_TEST_ARGS, MEMCHECK_K,
# RACECHECK_K, GEMM_ARGS, KERNELS_ARGS, CONV_ARGS, TRAIN_ARGS (see the defaults below).
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-${TMPDIR:-/tmp}/pydl_gpu_check}
LOGS=$OUT/logs
TOTAL_BUDGET=${TOTAL_BUDGET:-510}
MIN_STEP_S=${MIN_STEP_S:-15}
KILL_GRACE=${KILL_GRACE:-5}
DRY_RUN=${DRY_RUN:-0}
NO_GPU_OK=${NO_GPU_OK:-0}
BUILD_MODE=${BUILD_MODE:-editable}
PY=${PYTHON:-$(command -v python || command -v python3 || echo python3)}
SANITIZER=${SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-16}

CUDA_TEST_ARGS=${CUDA_TEST_ARGS:-}
# (pytest runs from a scratch directory: paths in these arguments must be absolute)
OTHER_TEST_ARGS=${OTHER_TEST_ARGS:---ignore=$REPO/tests/test_training.py --ignore=$REPO/tests/test_lab.py --maxfail=25}
# Under the sanitizers: no PyTorch oracles (cuBLAS/cuDNN under the tool cost minutes) and no
# multi-epoch training runs.
MEMCHECK_K=${MEMCHECK_K:-not torch and not train and not epochs}
RACECHECK_K=${RACECHECK_K:-(float32 and (softmax_forward_backward or cross_entropy or batch_norm_training)) or misaligned or low_level_ops or weight_gradient_is_reproducible}
GEMM_ARGS=${GEMM_ARGS:---quick}
KERNELS_ARGS=${KERNELS_ARGS:---repeat 10}
CONV_ARGS=${CONV_ARGS:---repeat 10}
TRAIN_ARGS=${TRAIN_ARGS:---device cuda --repeat 9}

# The default order puts the CPU-side suite last: it matters least on this machine.
ALL_STEPS="smi build tests-cuda memcheck racecheck bench-gemm bench-kernels bench-conv bench-train tests-other"
declare -A DEFAULT_BUDGET=([smi]=20 [build]=180 [tests-cuda]=120 [memcheck]=90 [racecheck]=45
                           [bench-gemm]=40 [bench-kernels]=25 [bench-conv]=25 [bench-train]=25 [tests-other]=60)
declare -A NEEDS_GPU=([smi]=1 [build]=0 [tests-cuda]=1 [tests-other]=0 [memcheck]=1 [racecheck]=1
                      [bench-gemm]=1 [bench-kernels]=1 [bench-conv]=1 [bench-train]=1)

# ------------------------------------------------------------------ which steps
expand_steps() {
  local s out=""
  for s in ${STEPS:-all}; do
    case $s in
      all) out+=" $ALL_STEPS" ;;
      tests) out+=" tests-cuda tests-other" ;;
      sanitizer|sanitizers) out+=" memcheck racecheck" ;;
      bench) out+=" bench-gemm bench-kernels bench-conv bench-train" ;;
      *) if [[ -v "DEFAULT_BUDGET[$s]" ]]; then out+=" $s"
         else echo "gpu_check: unknown step '$s' (known: $ALL_STEPS; aliases: all tests sanitizer bench)" >&2; exit 2
         fi ;;
    esac
  done
  echo "${out# }"
}
SELECTED=$(expand_steps) || exit 2

budget_of() {  # BUDGET_TESTS_CUDA overrides tests-cuda's default
  local var="BUDGET_${1//-/_}"
  var=${var^^}
  echo "${!var:-${DEFAULT_BUDGET[$1]}}"
}

# ------------------------------------------------------------------ the steps
# Each runs under `timeout` in a child bash (the functions and settings are exported), with
# stdout and stderr going to the step's log. Python always runs from a scratch directory, so
# `import pydl` never picks up the source tree by accident; the editable install maps it.

step_smi() {
  nvidia-smi || return 1
  nvidia-smi --query-gpu=index,name,compute_cap,driver_version,memory.total,clocks.max.sm,power.limit \
    --format=csv || return 1
  nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
  nvidia-smi --query-gpu=index,name,compute_cap,driver_version,memory.total,clocks.max.sm,power.limit \
    --format=csv >> "$OUT/nvidia-smi.txt" 2>&1
  return 0
}

step_build() {
  cd "$REPO" || return 1
  local extra=()
  # --no-index: dependencies must already be installed (no network); missing ones fail at once.
  if ! "$PY" -c "import numpy, safetensors, tqdm, pytest, hypothesis" 2>/dev/null; then
    echo "gpu_check: some runtime/test dependencies are missing; installing with --no-deps"
    "$PY" -c "import numpy, safetensors, tqdm, pytest, hypothesis"
    extra+=(--no-deps)
  fi
  local target=".[test]"
  [[ " ${extra[*]-} " == *" --no-deps "* ]] && target="."
  local mode=()
  [[ $BUILD_MODE == editable ]] && mode=(-e)
  echo "gpu_check: CUDAARCHS=$CUDAARCHS PYDL_CUDA=ON CMAKE_BUILD_PARALLEL_LEVEL=$CMAKE_BUILD_PARALLEL_LEVEL mode=$BUILD_MODE"
  # CUDAARCHS only seeds a fresh CMake cache; the define also overrides an existing one.
  PYDL_CUDA=ON "$PY" -m pip install -v --no-index --no-build-isolation "${extra[@]}" \
    --config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES="$CUDAARCHS" "${mode[@]}" "$target" || return 1
  cd "$SCRATCH" || return 1
  "$PY" - <<'PYEOF'
import os
import sys
import pydl
from pydl import _C
print("pydl", pydl.__file__, "| _C", _C.__file__)
ok = pydl.cuda.is_available()
print("pydl.cuda.is_available():", ok)
if not ok:
    print("pydl sees no GPU:", pydl.cuda.unavailable_reason())
    sys.exit(1 if os.environ.get("GPU_OK") == "1" else 0)  # NO_GPU_OK runs on a GPU-less box
else:
    print("device 0:", pydl.cuda.get_device_name(0))
PYEOF
}

# junit_summary FILE: prints "N tests, F failed, E errors, S skipped"; status 1 when the report
# is missing or no test ran (all skipped: e.g. pydl built without CUDA would otherwise "pass").
junit_summary() {
  "$PY" - "$1" <<'PYEOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as e:  # noqa: BLE001
    print(f"no junit report ({type(e).__name__})")
    sys.exit(1)
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
get = lambda key: sum(int(s.get(key, 0)) for s in suites)  # noqa: E731
t, f, e, s = get("tests"), get("failures"), get("errors"), get("skipped")
print(f"{t} tests, {f} failed, {e} errors, {s} skipped")
sys.exit(0 if t - s > 0 else 1)
PYEOF
}

# run_pytest STEP XML ARGS...: pytest from the scratch directory; exit status of pytest, or 1
# when nothing ran. The junit summary goes to $LOGS/STEP.note for the step line.
run_pytest() {
  local step=$1 xml=$LOGS/$2
  shift 2
  cd "$SCRATCH" || return 1
  "$PY" -m pytest -q -p no:cacheprovider -ra --durations=10 --junitxml="$xml" "$@"
  local rc=$?
  junit_summary "$xml" > "$LOGS/$step.note" || { [[ $rc == 0 ]] && rc=1; }
  cat "$LOGS/$step.note"
  return $rc
}

step_tests_cuda() {
  # shellcheck disable=SC2086  # *_ARGS are word lists
  PYDL_CUDA_SYNC=1 run_pytest tests-cuda cuda-tests.xml "$REPO/tests" -m cuda -x $CUDA_TEST_ARGS
}

step_tests_other() {
  # shellcheck disable=SC2086
  run_pytest tests-other other-tests.xml "$REPO/tests" -m "not cuda" $OTHER_TEST_ARGS
}

have_sanitizer() {
  [[ -x $SANITIZER ]] || command -v "$SANITIZER" >/dev/null 2>&1 || {
    echo "gpu_check: compute-sanitizer not found (SANITIZER=$SANITIZER)"
    return 1
  }
}

# sanitize NAME TOOL K FILES...: exit 86 when the tool reports errors. Under memcheck every
# tensor gets a block of its exact size (PYDL_CUDA_NO_CACHING=1), so an access past its end
# is an error the tool sees rather than a read of the allocator's rounding.
sanitize() {
  local name=$1 tool=$2 k=$3
  shift 3
  have_sanitizer || return 1
  cd "$SCRATCH" || return 1
  local exact=0
  [[ $tool == memcheck ]] && exact=1
  PYDL_CUDA_NO_CACHING=$exact PYDL_CUDA_SYNC=1 "$SANITIZER" --tool "$tool" --error-exitcode 86 \
    "$PY" -m pytest -q -x -p no:cacheprovider -ra --junitxml="$LOGS/$name.xml" -k "$k" "$@"
  local rc=$?
  junit_summary "$LOGS/$name.xml" > "$LOGS/$name.note" || { [[ $rc == 0 ]] && rc=1; }
  [[ $rc == 86 ]] && echo "$tool reported errors" >> "$LOGS/$name.note"
  cat "$LOGS/$name.note"
  return $rc
}

step_memcheck() {
  sanitize memcheck memcheck "$MEMCHECK_K" "$REPO/tests/test_cuda_mlp.py" "$REPO/tests/test_cuda_gemm.py"
}

step_racecheck() {
  sanitize racecheck racecheck "$RACECHECK_K" "$REPO/tests/test_cuda_mlp.py" "$REPO/tests/test_cuda_gemm.py" \
    "$REPO/tests/test_cuda_conv.py"
}

# bench SCRIPT ARGS...: the scripts exit 0 with a message when they see no GPU; that is a failure
# here, and so is a run that wrote no result file.
bench() {
  local script=$1
  shift
  cd "$SCRATCH" || return 1
  "$PY" "$REPO/bench/$script" "$@" || return 1
  if grep -q "nothing to measure\|needs a CUDA GPU" "$LOGS/$CURRENT_STEP.log"; then
    echo "gpu_check: $script measured nothing"
    return 1
  fi
  local f wrote=0
  for f in "$REPO"/bench/results/*.json; do
    if [[ -f $f && $f -nt $STAMP ]]; then
      cp "$f" "$OUT/results/" && wrote=1 && echo "gpu_check: copied $(basename "$f") to \$OUT/results/"
    fi
  done
  touch "$STAMP"
  [[ $wrote == 1 ]] || { echo "gpu_check: $script wrote no bench/results/*.json"; return 1; }
}

# shellcheck disable=SC2086
step_bench_gemm() { bench gpu_gemm.py $GEMM_ARGS; }
# shellcheck disable=SC2086
step_bench_kernels() { bench gpu_kernels.py $KERNELS_ARGS; }
# shellcheck disable=SC2086
step_bench_conv() { bench gpu_conv.py $CONV_ARGS; }
# shellcheck disable=SC2086
step_bench_train() { bench train_step.py $TRAIN_ARGS; }

describe() {  # what a step runs, for DRY_RUN
  case $1 in
    smi) echo "nvidia-smi; nvidia-smi --query-gpu=... --format=csv  > \$OUT/nvidia-smi.txt" ;;
    build) echo "PYDL_CUDA=ON CUDAARCHS=$CUDAARCHS $PY -m pip install -v --no-index --no-build-isolation" \
                "--config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES=$CUDAARCHS$([[ $BUILD_MODE == editable ]] && printf ' %s' -e) \".[test]\"; import check" ;;
    tests-cuda) echo "PYDL_CUDA_SYNC=1 $PY -m pytest -q -p no:cacheprovider $REPO/tests -m cuda -x $CUDA_TEST_ARGS" ;;
    tests-other) echo "$PY -m pytest -q -p no:cacheprovider $REPO/tests -m 'not cuda' $OTHER_TEST_ARGS" ;;
    memcheck) echo "$SANITIZER --tool memcheck $PY -m pytest -x -k '$MEMCHECK_K' tests/test_cuda_mlp.py tests/test_cuda_gemm.py" ;;
    racecheck) echo "$SANITIZER --tool racecheck $PY -m pytest -x -k '$RACECHECK_K' tests/test_cuda_{mlp,gemm,conv}.py" ;;
    bench-gemm) echo "$PY bench/gpu_gemm.py $GEMM_ARGS" ;;
    bench-kernels) echo "$PY bench/gpu_kernels.py $KERNELS_ARGS" ;;
    bench-conv) echo "$PY bench/gpu_conv.py $CONV_ARGS" ;;
    bench-train) echo "$PY bench/train_step.py $TRAIN_ARGS" ;;
  esac
}

# ------------------------------------------------------------------ the driver
detect_gpu() {  # sets GPU_OK, GPU_WHY, GPU_ARCH
  GPU_OK=0 GPU_WHY="" GPU_ARCH=""
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    GPU_WHY="nvidia-smi not found on PATH"
    return
  fi
  local list
  list=$(timeout 20 nvidia-smi -L 2>&1)
  local rc=$?
  if [[ $rc != 0 ]] || ! grep -q "^GPU [0-9]" <<<"$list"; then
    GPU_WHY="nvidia-smi -L: $(head -c 300 <<<"$list" | tr '\n' ' ') (exit $rc)"
    return
  fi
  GPU_OK=1
  GPU_ARCH=$(timeout 20 nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
}

SUMMARY=()
FAILED=0
NO_GPU_STOP=0

record() {  # STATUS STEP SECONDS NOTE
  local line
  line=$(printf "%-7s %-13s %4ss  %s" "$1" "$2" "$3" "$4")
  echo "$line"
  SUMMARY+=("$line")
  echo "$line" >> "$OUT/summary.txt"
  [[ $1 == PASS ]] || FAILED=$((FAILED + 1))
}

run_step() {
  local step=$1 fn="step_${1//-/_}" budget log=$LOGS/$1.log
  budget=$(budget_of "$step")
  if [[ $GPU_OK != 1 && $NO_GPU_OK != 1 ]]; then
    if [[ $NO_GPU_STOP == 1 ]]; then
      record SKIP "$step" 0 "not run: no CUDA GPU"
    else
      echo "gpu_check: no CUDA GPU: $GPU_WHY" > "$log"
      record FAIL "$step" 0 "no CUDA GPU: $GPU_WHY; stopping (NO_GPU_OK=1 runs the steps that need none)"
      NO_GPU_STOP=1
    fi
    return
  fi
  if [[ ${NEEDS_GPU[$step]} == 1 && $GPU_OK != 1 ]]; then
    echo "gpu_check: $step needs a CUDA GPU and there is none: $GPU_WHY" > "$log"
    record FAIL "$step" 0 "no CUDA GPU: $GPU_WHY"
    return
  fi
  local left=$((DEADLINE - $(date +%s) - KILL_GRACE))
  local t=$budget
  ((t > left)) && t=$left
  if ((t < MIN_STEP_S)); then
    record SKIP "$step" 0 "not run: ${left}s left of TOTAL_BUDGET=${TOTAL_BUDGET}s"
    return
  fi
  {
    echo "# gpu_check step $step: timeout ${t}s (budget ${budget}s), $(date -Is)"
    echo "# $(describe "$step")"
  } > "$log"
  rm -f "$LOGS/$step.note"
  local t0 rc
  t0=$(date +%s)
  CURRENT_STEP=$step timeout -k "$KILL_GRACE" "$t" bash -c "$fn" >> "$log" 2>&1 < /dev/null
  rc=$?
  local dt=$(($(date +%s) - t0)) note=""
  [[ -f $LOGS/$step.note ]] && note=$(tr '\n' ' ' < "$LOGS/$step.note")
  if [[ $rc == 0 ]]; then
    record PASS "$step" "$dt" "$note"
  elif [[ $rc == 124 || $rc == 137 ]]; then
    record TIMEOUT "$step" "$dt" "killed after ${t}s; $note log: logs/$step.log"
  else
    record FAIL "$step" "$dt" "exit $rc; $note log: logs/$step.log"
  fi
  if [[ $rc != 0 ]]; then
    echo "    --- last lines of logs/$step.log ---"
    tail -n 25 "$log" | cut -c1-300 | sed 's/^/    | /'
  fi
}

write_env() {
  {
    echo "date: $(date -Is)"
    echo "host: $(hostname 2>/dev/null)  cpus: $(nproc 2>/dev/null)"
    echo "repo: $REPO  commit: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo n/a)"
    git -C "$REPO" status --short 2>/dev/null | head -40
    echo "python: $PY ($("$PY" --version 2>&1))"
    "$PY" -m pip list 2>/dev/null | grep -i -E "^(torch|numpy|pytest|hypothesis|scikit-build-core|pybind11|cmake|ninja|safetensors|tqdm|pydl) " || true
    echo "nvcc: $( (command -v nvcc || ls /usr/local/cuda/bin/nvcc) 2>/dev/null | head -1)"
    ( nvcc --version || /usr/local/cuda/bin/nvcc --version ) 2>/dev/null | tail -2
    echo "cmake: $(cmake --version 2>/dev/null | head -1)"
    echo "compute-sanitizer: $SANITIZER $("$SANITIZER" --version 2>/dev/null | tail -1)"
    echo "GPU: ok=$GPU_OK arch=$GPU_ARCH ${GPU_WHY}"
    echo "steps: $SELECTED"
  } > "$LOGS/env.log" 2>&1
}

main() {
  detect_gpu
  CUDAARCHS=${CUDAARCHS:-${GPU_ARCH:-90}}
  [[ $CUDAARCHS =~ ^[0-9]+(\;[0-9]+)*$ ]] || CUDAARCHS=90

  if [[ $DRY_RUN == 1 ]]; then
    echo "gpu_check (dry run): OUT=$OUT TOTAL_BUDGET=${TOTAL_BUDGET}s GPU: $([[ $GPU_OK == 1 ]] && echo "yes, sm_$GPU_ARCH" || echo "none ($GPU_WHY)")"
    local s
    for s in $SELECTED; do
      printf "  %-13s %4ss  %s%s\n" "$s" "$(budget_of "$s")" "$(describe "$s")" \
        "$([[ ${NEEDS_GPU[$s]} == 1 ]] && echo "  [needs GPU]")"
    done
    return 0
  fi

  mkdir -p "$LOGS" "$OUT/results" || { echo "gpu_check: cannot create $OUT" >&2; return 2; }
  : > "$OUT/summary.txt"
  SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
  STAMP=$SCRATCH/.stamp
  touch "$STAMP"
  DEADLINE=$(($(date +%s) + TOTAL_BUDGET))
  export GPU_OK REPO OUT LOGS PY SANITIZER SCRATCH STAMP CUDAARCHS BUILD_MODE CMAKE_BUILD_PARALLEL_LEVEL \
    CUDA_TEST_ARGS OTHER_TEST_ARGS MEMCHECK_K RACECHECK_K GEMM_ARGS KERNELS_ARGS CONV_ARGS TRAIN_ARGS
  export -f step_smi step_build step_tests_cuda step_tests_other step_memcheck step_racecheck \
    step_bench_gemm step_bench_kernels step_bench_conv step_bench_train junit_summary run_pytest \
    have_sanitizer sanitize bench
  write_env

  echo "gpu_check: steps: $SELECTED; total budget ${TOTAL_BUDGET}s; logs in $LOGS"
  [[ $GPU_OK == 1 ]] || echo "gpu_check: NO CUDA GPU: $GPU_WHY"
  local start step
  start=$(date +%s)
  for step in $SELECTED; do
    run_step "$step"
  done
  local total=$(($(date +%s) - start))
  echo "gpu_check: $FAILED of $(wc -w <<<"$SELECTED") steps did not pass; ${total}s in all" | tee -a "$OUT/summary.txt"
  rm -rf "$SCRATCH"
  [[ $FAILED == 0 ]]
}

main
