#!/usr/bin/env bash
# One-shot GPU check for a machine with one CUDA GPU and no network (written for an H100/H200 with
# Python, PyTorch, pytest and compute-sanitizer): build pydl with the CUDA backend, run the CUDA
# tests, compute-sanitizer on subsets and the GPU benchmarks, each step under its own timeout and
# all of it inside one wall-clock budget, packed as it goes so that a killed run still reports.
# Its Python (standard library only, pytest's plugin too) is bench/_gpu_check.py.
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
#   bench-gemm     40  bench/gpu_gemm.py --quick                 } each run with --save writes
#   bench-kernels  20  bench/gpu_kernels.py --repeat 10          } bench/results/<gpu>/*.json,
#   bench-conv     20  bench/gpu_conv.py --repeat 10             } packed into results/<gpu>/
#   bench-train    15  bench/train_step.py --device cuda --repeat 9
#   tests-other    60  pytest -k "not cuda" less training/lab (CPU side; CI runs it; not in all)
# Aliases: all (the default: every step but tests-other), tests, sanitizer, bench. The defaults
# add up to 475 of TOTAL_BUDGET=480 (a 600 s call less margin). A step's timeout is min(budget,
# what is left of the total); with under MIN_STEP_S=10 left it is skipped.
#
# Output, and nothing else, in $OUT: summary.txt (one line per step, "STATUS step seconds note",
# STATUS PASS|FAIL|TIMEOUT|SKIP, RUNNING/PENDING while under way) and gpu_check.tgz holding
# gpu_check/{summary.txt,env.txt,nvidia-smi.txt,logs/<step>.log,junit/<step>.xml,results/<gpu>/*.json}.
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
HELPER=$REPO/bench/_gpu_check.py  # the Python side (standard library only), and the pytest plugin
OUT=${OUT:-${TMPDIR:-/tmp}/pydl_gpu_check}
ARCHIVE=gpu_check.tgz
TOTAL_BUDGET=${TOTAL_BUDGET:-480} MIN_STEP_S=${MIN_STEP_S:-10} KILL_GRACE=${KILL_GRACE:-5} PACK_EVERY=${PACK_EVERY:-15}
DRY_RUN=${DRY_RUN:-0} NO_GPU_OK=${NO_GPU_OK:-0} EMULATE=${EMULATE:-0} SKIP_BUILD=${SKIP_BUILD:-0}
BUILD_MODE=${BUILD_MODE:-editable}
PY=${PYTHON:-$(command -v python || command -v python3 || echo python3)}
SANITIZER=${SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 8)}
MAXFAIL=${MAXFAIL:-50} TEST_TIMEOUT=${TEST_TIMEOUT:-60}              # the pytest steps: tests-cuda, tests-other
SAN_MAXFAIL=${SAN_MAXFAIL:-10} SAN_TEST_TIMEOUT=${SAN_TEST_TIMEOUT:-30}  # and under the sanitizers
SESSION_MARGIN=${SESSION_MARGIN:-8}   # pytest stops this long before its step's timeout (junit intact)
if [[ $EMULATE == 1 ]]; then XDIST_WORKERS=${XDIST_WORKERS:-0} BUILD_PYDL_CUDA=${PYDL_CUDA:-EMULATE}
else XDIST_WORKERS=${XDIST_WORKERS:-4} BUILD_PYDL_CUDA=${PYDL_CUDA:-ON}; fi

default() {  # VAR PIECES...: VAR, when unset or empty, becomes the PIECES joined by blanks
  [[ -n ${!1:-} ]] || printf -v "$1" '%s' "${*:2}"
}

# Test selections. Paths are relative to the repo (or absolute): pytest runs from a scratch
# directory, against the installed pydl, never the source tree.
CUDA_TEST_PATHS=${CUDA_TEST_PATHS:-tests}
CUDA_TEST_K=${CUDA_TEST_K-cuda}
CUDA_TEST_ARGS=${CUDA_TEST_ARGS:-}
OTHER_TEST_PATHS=${OTHER_TEST_PATHS:-tests}
OTHER_TEST_K=${OTHER_TEST_K-not cuda}
OTHER_TEST_ARGS=${OTHER_TEST_ARGS---ignore=tests/test_training.py --ignore=tests/test_lab.py}
# Under the sanitizers: the representative subsets of bench/gpu_check_subsets.sh.
# shellcheck source=bench/gpu_check_subsets.sh
. "$REPO/bench/gpu_check_subsets.sh"
MEMCHECK_ARGS=${MEMCHECK_ARGS:-} RACECHECK_ARGS=${RACECHECK_ARGS:-} INITCHECK_ARGS=${INITCHECK_ARGS:-}
GEMM_ARGS=${GEMM_ARGS:---quick} KERNELS_ARGS=${KERNELS_ARGS:---repeat 10} CONV_ARGS=${CONV_ARGS:---repeat 10}
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
# compute-sanitizer refusing the device, in a step's log
REFUSED="device not supported|error 999|cudaErrorUnknown"

usage_error() { echo "gpu_check: $*" >&2; exit 2; }

# ------------------------------------------------------------------ which steps, what budgets
expand_steps() {  # preflight first, each step once
  local s one out="" seen=" preflight "
  for s in ${STEPS:-all}; do
    case $s in
      all) s=$ALL_STEPS ;;
      tests) s="tests-cuda tests-other" ;;
      sanitizer|sanitizers) s="memcheck racecheck initcheck" ;;
      bench) s="bench-gemm bench-kernels bench-conv bench-train" ;;
      *) [[ -v "DEFAULT_BUDGET[$s]" ]] ||
           usage_error "unknown step '$s' (known: $ALL_STEPS tests-other; aliases: all tests sanitizer bench)" ;;
    esac
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

# ------------------------------------------------------------------ what each step runs
now() { printf '%(%s)T' -1; }

join_by() {  # SEP WORDS...
  local sep=$1 out
  shift
  out=$(printf "%s$sep" "$@")
  echo "${out%"$sep"}"
}

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

PYENV=()  # the environment of every Python a step runs (PYTHONPATH: the plugin in the scratch directory)
set_pyenv() { PYENV=(env PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 "PYTHONPATH=$SCRATCH${PYTHONPATH:+:$PYTHONPATH}"); }

# pytest_cmd STEP SEL PER_TEST_TIMEOUT WORKERS MAXFAIL: appends to CMD the pytest words for the
# tests that ${SEL}_PATHS, ${SEL}_K and ${SEL}_ARGS select.
pytest_cmd() {
  local step=$1 paths=${2}_PATHS k=${2}_K args=${2}_ARGS per_test=$3 workers=$4 maxfail=$5 w
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
  [[ -n ${!k} ]] && CMD+=(-k "${!k}")
  while IFS= read -r w; do CMD+=("$w"); done < <(repo_words "${!paths} ${!args}")
}

step_cmd() {  # STEP: the command it runs, in CMD (PYENV first)
  local exact=1 script var args=()
  case $1 in
    build)
      CMD=("${PYENV[@]}" PYDL_CUDA="$BUILD_PYDL_CUDA" CMAKE_BUILD_PARALLEL_LEVEL="$CMAKE_BUILD_PARALLEL_LEVEL"
           PIP_BREAK_SYSTEM_PACKAGES=1 "$PY" -m pip install -v --no-index --no-build-isolation)
      [[ $BUILD_NODEPS == 1 ]] && CMD+=(--no-deps)
      [[ $BUILD_USER == 1 ]] && CMD+=(--user)
      if [[ $BUILD_PYDL_CUDA == EMULATE ]]; then
        CMD+=(-C "build-dir=build/emu-{wheel_tag}")
      else  # CUDAARCHS only seeds a fresh CMake cache; the define also overrides an existing one.
        CMD+=(--config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES="$CUDAARCHS"
              --config-settings=cmake.define.CMAKE_CUDA_FLAGS=-lineinfo)
      fi
      [[ $BUILD_MODE == editable ]] && CMD+=(-e)
      if [[ $BUILD_NODEPS == 1 ]]; then CMD+=(.); else CMD+=(".[test]"); fi ;;
    tests-cuda)
      CMD=("${PYENV[@]}" PYDL_CUDA_SYNC=1)
      pytest_cmd "$1" CUDA_TEST "$TEST_TIMEOUT" "$XDIST_WORKERS" "$MAXFAIL" ;;
    tests-other)
      CMD=("${PYENV[@]}")
      pytest_cmd "$1" OTHER_TEST "$TEST_TIMEOUT" "$XDIST_WORKERS" "$MAXFAIL" ;;
    memcheck|racecheck|initcheck)
      # Under memcheck and initcheck every tensor gets a block of its exact size, so a read past
      # its end or of memory never written is an error the tool sees.
      [[ $1 == racecheck ]] && exact=0
      CMD=("${PYENV[@]}" "PYDL_CUDA_NO_CACHING=$exact" PYDL_CUDA_SYNC=1 "$SANITIZER" --tool "$1" --error-exitcode 86)
      pytest_cmd "$1" "${1^^}" "$SAN_TEST_TIMEOUT" 0 "$SAN_MAXFAIL" ;;
    bench-*)  # bench/gpu_<name>.py but for bench-train, with <NAME>_ARGS; --save: these results are kept
      script=gpu_${1#bench-}.py var=${1#bench-}_ARGS
      [[ $1 == bench-train ]] && script=train_step.py
      var=${var^^}
      read -r -a args <<< "${!var}"
      CMD=("${PYENV[@]}" "$PY" "$REPO/bench/$script" --save "${args[@]}") ;;
  esac
}

describe() {  # what a step runs, one line
  if [[ $1 == preflight ]]; then
    echo "nvidia-smi (GPU, compute capability, driver), nvcc, Python.h, pip, pybind11, scikit_build_core," \
         "cmake, pytest/xdist/timeout, compute-sanitizer, pydl; facts to env.txt, nvidia-smi.txt"
    return
  fi
  step_cmd "$1"
  q "${CMD[@]:${#PYENV[@]}}"  # (every Python runs under PYENV, from the scratch directory)
}

# ------------------------------------------------------------------ the steps
# Each runs under `timeout` in a child bash (functions and settings exported), stdout and stderr
# to logs/<step>.log; a step may leave a line for the summary in $STAGE/notes/<step>. Exit 77: SKIP.
do_step() {
  case $1 in
    preflight) step_preflight ;;
    build) step_build ;;
    tests-cuda) cuda_check && run_cmd "$1" ;;
    tests-other) run_cmd "$1" ;;
    memcheck|racecheck|initcheck) sanitize "$1" ;;
    bench-*) bench "$1" ;;
  esac
}

note() { echo "$*" >> "$STAGE/notes/$CURRENT_STEP"; }

run_cmd() {  # STEP [DIR]: STEP's command, shown, then run from DIR (the scratch directory)
  cd "${2:-$SCRATCH}" || return 1
  step_cmd "$1"
  echo "+ $(q "${CMD[@]}")"
  "${CMD[@]}"
}

helper() { "$PY" "$HELPER" "$@"; }

cuda_check() {  # pydl imports (from the scratch directory) and has a CUDA device
  (cd "$SCRATCH" && "${PYENV[@]}" "$PY" "$HELPER" cuda-check) && return
  note "pydl sees no CUDA device (see the log)"
  return 1
}

have_sanitizer() { [[ -x $SANITIZER ]] || command -v "$SANITIZER" >/dev/null 2>&1; }

step_preflight() {
  local env=$PACKDIR/env.txt smi=$PACKDIR/nvidia-smi.txt fatal=() summary=() v builds=0 tests=0 uses_pydl=0
  local -A pkg=()
  fact() { printf '%-24s %s\n' "$1:" "$2" | tee -a "$env"; }
  need() { fatal+=("$1"); echo "gpu_check: MISSING: $1"; }
  has() { [[ ${pkg[$1]:-missing} != missing ]]; }
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
  local facts kind a b c
  facts=$(cd "$SCRATCH" && helper preflight-facts 2>&1) || { echo "$facts"; need "a working Python ($PY)"; }
  while read -r kind a b c _; do
    case $kind in
      python) fact python "$a ($b)"; summary+=("Python $a") ;;
      python_h) fact Python.h "$a ($b)"; [[ $a == yes || $builds == 0 ]] || need "Python.h (python headers, $b)" ;;
      site) fact site-packages "$a $b ($c)" ;;
      pkg) pkg[$a]=$b; fact "$a (python)" "$b" ;;
    esac
  done <<< "$facts"
  ((builds)) && for v in pip pybind11 scikit_build_core numpy; do has "$v" || need "$v"; done
  if ((tests)); then
    has pytest || need "pytest"
    has hypothesis || need "hypothesis (tests/conftest.py imports it)"
  fi
  ((uses_pydl && !builds)) && ! has pydl && need "pydl installed (no build step runs)"
  summary+=("torch ${pkg[torch]:-?}" "xdist ${pkg[xdist]:-?}" "pytest-timeout ${pkg[pytest_timeout]:-?}")

  # tools
  v=$(cmake --version 2>/dev/null | head -1)
  fact "cmake (PATH)" "${v:-missing}"
  [[ -n $v || $builds == 0 ]] || has cmake || need "cmake"
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
  if have_sanitizer; then
    v=$("$SANITIZER" --version 2>/dev/null | grep -i version | head -1)
    fact compute-sanitizer "$SANITIZER ${v:-}"
    summary+=("compute-sanitizer ${v##* }")
  else
    fact compute-sanitizer "missing ($SANITIZER): the sanitizer steps SKIP"
    summary+=("NO compute-sanitizer")
  fi

  # The verdict first, then the slower facts: a preflight cut short by its timeout still has one.
  if ((${#fatal[@]})); then
    note "missing: $(join_by ", " "${fatal[@]}")"
    touch "$STAGE/notes/preflight.fatal"
  else
    note "$(join_by "; " "${summary[@]}")"
  fi
  [[ $GPU_OK == 1 ]] && { timeout 20 nvidia-smi; timeout 20 nvidia-smi -q; } > "$smi" 2>&1
  v=$(ncu --version 2>/dev/null | tail -1)
  fact ncu "${v:-missing}"
  has pydl && fact "pydl (installed now)" "$(cd "$SCRATCH" && helper pydl-fact 2>&1 | tail -1)"
  "$PY" -m pip list 2>/dev/null > "$LOGS/pip-list.txt"
  ((${#fatal[@]} == 0))
}

step_build() {
  echo "gpu_check: PYDL_CUDA=$BUILD_PYDL_CUDA CUDAARCHS=$CUDAARCHS mode=$BUILD_MODE nodeps=$BUILD_NODEPS user=$BUILD_USER"
  run_cmd build "$REPO" || { note "pip install failed"; return 1; }
  note "PYDL_CUDA=$BUILD_PYDL_CUDA$([[ $BUILD_PYDL_CUDA == EMULATE ]] || echo " CUDAARCHS=$CUDAARCHS") $BUILD_MODE"
  cd "$SCRATCH" && "${PYENV[@]}" "$PY" "$HELPER" import-check "$STAGE/notes/build"
}

# Once per run, a trivial allocation under memcheck: some devices (H200 with this toolkit) are
# refused ("Device not supported", then error 999), which is a SKIP, not a failure.
sanitizer_probe() {
  local cache=$STAGE/sanitizer.probe out rc pat="not supported|error 999|cudaErrorUnknown|sees no CUDA device"
  if [[ ! -f $cache ]]; then
    out=$(cd "$SCRATCH" && timeout $((STEP_T / 2)) "${PYENV[@]}" "$SANITIZER" --tool memcheck \
            "$PY" "$HELPER" sanitizer-probe 2>&1)
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
  local step=$1 log=$LOGS/$1.log rc v
  have_sanitizer || { note "compute-sanitizer not found ($SANITIZER)"; return 77; }
  cuda_check || return 1
  sanitizer_probe || return 77
  run_cmd "$step"
  rc=$?
  if ((rc == 86)); then
    note "$step reported errors: $(grep -m1 -E '^========= +(Invalid|Uninitialized|Race|Error|.*hazard)' "$log" | cut -c11-170)"
    note "$(grep -m1 -E '^========= +(ERROR|RACECHECK) SUMMARY' "$log" | cut -c11-100)"
  elif ((rc != 0)) && ! grep -qE ' PASSED|\] PASSED ' "$log" && v=$(grep -m1 -iE "$REFUSED" "$log"); then
    note "compute-sanitizer refuses this device: $(cut -c1-150 <<<"$v")"
    return 77
  fi
  return $rc
}

# The bench scripts exit 0 with a message when pydl sees no GPU: a failure here, and so is a run
# that wrote no result file.
bench() {
  run_cmd "$1" || return 1
  if grep -q "nothing to measure\|needs a CUDA GPU" "$LOGS/$1.log"; then
    note "measured nothing: pydl sees no GPU"
    return 1
  fi
  local f name wrote=() results=${PYDL_BENCH_RESULTS:-$REPO/bench/results}
  for f in "$results"/*/*.json; do
    name=${f#"$results"/}  # <gpu>/<benchmark>.json
    [[ -f $f && $f -nt $STAMP ]] && mkdir -p "$PACKDIR/results/${name%/*}" && cp "$f" "$PACKDIR/results/$name" &&
      wrote+=("$name")
  done
  touch "$STAMP"
  ((${#wrote[@]})) || { note "wrote no bench/results/<gpu>/*.json"; return 1; }
  note "results/${wrote[*]}"
}

# ------------------------------------------------------------------ the GPU, once
detect_gpu() {  # sets GPU_OK, GPU_WHY, GPU_ARCH, GPU_NAME
  GPU_OK=0 GPU_WHY="" GPU_ARCH="" GPU_NAME=""
  local list rc
  command -v nvidia-smi >/dev/null 2>&1 || { GPU_WHY="nvidia-smi not found on PATH"; return; }
  list=$(timeout 20 nvidia-smi -L 2>&1)
  rc=$?
  if [[ $rc != 0 ]] || ! grep -q "^GPU [0-9]" <<<"$list"; then
    GPU_WHY="nvidia-smi -L: $(head -c 200 <<<"$list" | tr '\n' ' ')(exit $rc)"
    return
  fi
  GPU_OK=1
  list=$(timeout 20 nvidia-smi --query-gpu=compute_cap,name --format=csv,noheader 2>/dev/null | head -1)
  GPU_ARCH=$(cut -d, -f1 <<<"$list" | tr -d ' .')
  GPU_NAME=$(cut -d, -f2- <<<"$list" | xargs)
}

# ------------------------------------------------------------------ the driver
declare -A STATUS=() SECS=() NOTE=() BAD=() T0=()
FINAL=0 CUR_PID="" CUR_STEP="" STOP_REASON=""

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
  if ((!FINAL)); then
    echo "under way: $done of $n steps done; $(($(now) - START))s${CUR_STEP:+; running $CUR_STEP}"
  elif ((${#failed[@]})); then
    echo "result: FAIL, ${#failed[@]} of $n steps did not pass ($(join_by ", " "${failed[@]}")); $(($(now) - START))s"
  else
    echo "result: PASS, $n steps; $(($(now) - START))s"
  fi
}

report() {  # summary.txt, then the staging folder as gpu_check.tgz, each replaced atomically in $OUT
  local f=$PACKDIR/summary.txt s
  {
    echo "# pydl gpu_check, started $START_DATE: $MODE_LINE; TOTAL_BUDGET ${TOTAL_BUDGET}s"
    for s in $SELECTED; do summary_line "$s"; done
    echo "# $(result_line)"
  } > "$f"
  cp "$f" "$OUT/.summary.txt.part$$" 2>/dev/null && mv -f "$OUT/.summary.txt.part$$" "$OUT/summary.txt"
  pack
}

pack() {
  local part=$OUT/.$ARCHIVE.part$$
  tar -czf "$part" -C "$STAGE" gpu_check 2>/dev/null
  # 1: a log grew while it was read; the archive is still whole
  if (($? <= 1)); then mv -f "$part" "$OUT/$ARCHIVE"; else rm -f "$part"; fi
}

finish_step() {  # STEP STATUS SECONDS NOTE BAD
  STATUS[$1]=$2 SECS[$1]=$3 NOTE[$1]=$4 BAD[$1]=$5
  summary_line "$1"
}

step_note() {  # STEP: sets STEP_NOTE, the line a finished (or killed) step leaves, STEP_EXTRA and PYTEST_STATUS
  local step=$1 n="" lines=()
  PYTEST_STATUS=0
  [[ -f $STAGE/notes/$step ]] && mapfile -t lines < "$STAGE/notes/$step"
  STEP_EXTRA=$(join_by "; " "${lines[@]}")
  if [[ $PYTEST_STEPS == *" $step "* ]]; then
    n=$(helper pytest-note "$PACKDIR/junit/$step.xml" "$LOGS/$step.log")
    PYTEST_STATUS=$?
  fi
  STEP_NOTE="$n${n:+${STEP_EXTRA:+; }}$STEP_EXTRA"
}

skip_reason() {  # STEP: why it does not run on this machine, if so; status 1 when that is a fault
  case ${NEEDS[$1]} in
    gpu) if [[ $EMULATE == 1 ]]; then echo "no GPU: EMULATE=1 runs the emulation, nothing to check or time"
         elif [[ $GPU_OK != 1 ]]; then echo "no GPU ($GPU_WHY)"; [[ $NO_GPU_OK == 1 ]] || return 1; fi ;;
    cuda) if [[ $GPU_OK != 1 && $EMULATE != 1 ]]; then
            echo "no GPU ($GPU_WHY); EMULATE=1 runs it on the emulation"; [[ $NO_GPU_OK == 1 ]] || return 1; fi ;;
  esac
  [[ $1 == build && $SKIP_BUILD == 1 ]] && echo "SKIP_BUILD=1: the installed pydl is used"
  return 0
}

run_step() {
  local step=$1 budget log=$LOGS/$1.log skip bad=0 left t last rc dt
  budget=$(budget_of "$step")
  if [[ -n $STOP_REASON ]]; then finish_step "$step" SKIP 0 "not run: $STOP_REASON" 1; return; fi
  skip=$(skip_reason "$step") || bad=1
  if [[ -n $skip ]]; then finish_step "$step" SKIP 0 "$skip" "$bad"; return; fi
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
  STATUS[$step]=RUNNING T0[$step]=$(now) NOTE[$step]="timeout ${t}s" CUR_STEP=$step
  report
  STEP_T=$t CURRENT_STEP=$step timeout -k "$KILL_GRACE" "$t" bash -c "set_pyenv; do_step $step" >> "$log" 2>&1 < /dev/null &
  CUR_PID=$!
  last=$(now)
  while kill -0 "$CUR_PID" 2>/dev/null; do
    sleep 0.5
    if (($(now) - last >= PACK_EVERY)); then
      if [[ $PYTEST_STEPS == *" $step "* ]]; then
        step_note "$step"
        NOTE[$step]="timeout ${t}s; $STEP_NOTE"
      fi
      report
      last=$(now)
    fi
  done
  wait "$CUR_PID"
  rc=$?
  CUR_PID="" CUR_STEP=""
  dt=$(($(now) - T0[$step]))
  conclude "$step" "$rc" "$t" "$dt"
  report
}

conclude() {  # STEP RC TIMEOUT SECONDS: the step's status and note, and whether the run goes on
  local step=$1 rc=$2 t=$3 dt=$4 n log=$LOGS/$1.log killed="killed after ${3}s"
  step_note "$step"
  n=$STEP_NOTE
  if ((rc == 0 && PYTEST_STATUS != 0)); then
    rc=1 n="no test ran; $n"
  fi
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
}

killed_note() { step_note "$1"; NOTE[$1]="killed: $STOP_REASON; $STEP_NOTE; log: logs/$1.log"; }

on_signal() {  # the whole run was told to stop: report the running step as killed, then pack
  trap '' INT TERM HUP
  STOP_REASON="gpu_check got SIG$1"
  local s step=""
  echo "gpu_check: SIG$1: stopping"
  for s in $SELECTED; do
    case ${STATUS[$s]} in
      RUNNING) step=$s STATUS[$s]=TIMEOUT SECS[$s]=$(($(now) - T0[$s])) BAD[$s]=1; killed_note "$s" ;;
      PENDING) STATUS[$s]=SKIP SECS[$s]=0 NOTE[$s]="not run: $STOP_REASON" BAD[$s]=1 ;;
    esac
  done
  FINAL=1 CUR_STEP=""
  report
  if [[ -n $CUR_PID ]]; then  # timeout passes TERM to the step's process group, KILL after KILL_GRACE
    kill -TERM "$CUR_PID" 2>/dev/null
    wait "$CUR_PID" 2>/dev/null
    [[ -n $step ]] && killed_note "$step"
    report
  fi
  exit 1
}

on_exit() { [[ -d ${STAGE:-} ]] && { pack; rm -rf "$STAGE"; }; }

print_plan() {
  local s sum=0 b
  STAGE='<stage>' SCRATCH='<stage>/scratch' PACKDIR='<stage>/gpu_check' STEP_T=0
  set_pyenv
  echo "gpu_check plan (DRY_RUN=1: nothing runs). $MODE_LINE; OUT=$OUT; python $PY" \
       "(xdist $HAVE_XDIST, pytest-timeout $HAVE_TIMEOUT)"
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
}

main() {
  SELECTED=$(expand_steps) || exit 2
  check_usage
  detect_gpu
  CUDAARCHS=${CUDAARCHS:-${GPU_ARCH:-90}}
  [[ $CUDAARCHS =~ ^[0-9]+(\;[0-9]+)*$ ]] || CUDAARCHS=90
  local s facts
  facts=$(helper probe 2>/dev/null)
  read -r HAVE_XDIST HAVE_TIMEOUT HAVE_SESSION_TIMEOUT BUILD_NODEPS BUILD_USER <<< "${facts:-0 0 0 0 0}"
  if [[ $EMULATE == 1 ]]; then MODE_LINE="EMULATE=1 rehearsal (no real GPU steps)"
  elif [[ $GPU_OK == 1 ]]; then MODE_LINE="GPU ${GPU_NAME:-?} (sm_$GPU_ARCH)"
  else MODE_LINE="no GPU ($GPU_WHY)$([[ $NO_GPU_OK == 1 ]] && echo "; NO_GPU_OK=1")"; fi
  export REPO HELPER OUT PY SANITIZER CUDAARCHS BUILD_MODE BUILD_PYDL_CUDA BUILD_NODEPS BUILD_USER \
    CMAKE_BUILD_PARALLEL_LEVEL GPU_OK GPU_WHY GPU_ARCH EMULATE NO_GPU_OK SKIP_BUILD SELECTED REFUSED \
    HAVE_XDIST HAVE_TIMEOUT HAVE_SESSION_TIMEOUT XDIST_WORKERS MAXFAIL SAN_MAXFAIL TEST_TIMEOUT \
    SAN_TEST_TIMEOUT SESSION_MARGIN CUDA_TEST_PATHS CUDA_TEST_K CUDA_TEST_ARGS OTHER_TEST_PATHS \
    OTHER_TEST_K OTHER_TEST_ARGS MEMCHECK_PATHS MEMCHECK_K MEMCHECK_ARGS RACECHECK_PATHS RACECHECK_K \
    RACECHECK_ARGS INITCHECK_PATHS INITCHECK_K INITCHECK_ARGS GEMM_ARGS KERNELS_ARGS CONV_ARGS TRAIN_ARGS
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1  # no network: never ask an index
  if [[ $DRY_RUN == 1 ]]; then print_plan; return 0; fi

  if ! mkdir -p "$OUT" 2>/dev/null || [[ ! -w $OUT ]]; then usage_error "cannot write to OUT=$OUT"; fi
  rm -f "$OUT"/.summary.txt.part* "$OUT"/."$ARCHIVE".part*
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX") || exit 1
  PACKDIR=$STAGE/gpu_check LOGS=$STAGE/gpu_check/logs SCRATCH=$STAGE/scratch STAMP=$STAGE/.stamp
  mkdir -p "$LOGS" "$PACKDIR/junit" "$PACKDIR/results" "$SCRATCH" "$STAGE/notes"
  touch "$STAMP"
  cp "$HELPER" "$SCRATCH/gpu_check_pytest.py"  # the plugin, for -p gpu_check_pytest (PYTHONPATH has it)
  set_pyenv
  export STAGE PACKDIR LOGS SCRATCH STAMP
  export -f join_by q repo_words set_pyenv pytest_cmd step_cmd do_step note run_cmd helper cuda_check have_sanitizer \
    step_preflight step_build sanitizer_probe sanitize bench  # for the steps, each in a child bash
  trap on_exit EXIT
  # shellcheck disable=SC2064  # the signal's name, expanded now
  for s in TERM INT HUP; do trap "on_signal $s" "$s"; done

  START=$(now) START_DATE=$(date -Is)
  DEADLINE=$((START + TOTAL_BUDGET))
  for s in $SELECTED; do STATUS[$s]=PENDING NOTE[$s]="budget $(budget_of "$s")s"; done
  echo "gpu_check: $MODE_LINE; steps: $SELECTED; total budget ${TOTAL_BUDGET}s; output in $OUT"
  report
  for s in $SELECTED; do run_step "$s"; done
  FINAL=1
  report
  echo "gpu_check: $(result_line); $OUT/summary.txt, $OUT/$ARCHIVE"
  for s in $SELECTED; do [[ ${BAD[$s]:-0} == 1 ]] && return 1; done
  return 0
}

main
