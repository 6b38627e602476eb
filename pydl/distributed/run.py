"""The launcher: ``python -m pydl.distributed.run --nproc-per-node N script.py args``.

Starts N ranks of ``script.py args`` on this machine. With mpiexec at hand (``pydl[distributed]``
brings MPICH's) the ranks are an MPI job, whatever backend the script picks; ``--backend nccl``
(or no mpiexec) starts them as plain processes told RANK, WORLD_SIZE, LOCAL_RANK,
LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, one GPU per local rank, as torchrun does. Either
way, when a rank fails the others are stopped, and the launcher exits with the failing code.
OMP_NUM_THREADS is set to 1 when unset, so that N ranks do not oversubscribe the cores.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time


def _parser():
    p = argparse.ArgumentParser(prog="python -m pydl.distributed.run", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1, help="ranks to start (default 1)")
    p.add_argument("--backend", choices=("auto", "mpi", "nccl"), default="auto",
                   help="mpi: start the ranks with mpiexec; nccl: as processes told their rank by environment "
                        "variables; auto (default): mpiexec when it is installed")
    p.add_argument("--master-addr", "--master_addr", default="127.0.0.1", help="(nccl) the address rank 0 listens on")
    p.add_argument("--master-port", "--master_port", type=int, default=0,
                   help="(nccl) the port rank 0 listens on (default: a free one)")
    p.add_argument("-m", dest="module", action="store_true", help="run the script as a module (python -m)")
    p.add_argument("script", help="the training script (or module, with -m)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return p


def find_mpiexec():
    """MPICH's mpiexec beside this Python (the mpich wheel puts it there), else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.access(beside, os.X_OK) else shutil.which("mpiexec")


def _command(args):
    return [sys.executable, *(["-m"] if args.module else []), args.script, *args.args]


def _free_port():
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _run_mpiexec(mpiexec, args, env):
    return subprocess.call([mpiexec, "-n", str(args.nproc_per_node), *_command(args)], env=env)


def _run_processes(args, env):
    n = args.nproc_per_node
    env = dict(env, WORLD_SIZE=str(n), LOCAL_WORLD_SIZE=str(n), MASTER_ADDR=args.master_addr,
               MASTER_PORT=str(args.master_port or _free_port()))
    procs = [subprocess.Popen(_command(args), env=dict(env, RANK=str(r), LOCAL_RANK=str(r))) for r in range(n)]
    code = 0
    try:
        while procs:
            for p in list(procs):
                rc = p.poll()
                if rc is None:
                    continue
                procs.remove(p)
                if rc != 0 and code == 0:
                    code = rc if rc > 0 else 128 - rc
                    print(f"pydl.distributed.run: a rank exited with code {rc}; stopping the others", file=sys.stderr)
                    _stop(procs)
            time.sleep(0.05)
    except KeyboardInterrupt:
        _stop(procs)
        code = 130
    return code


def _stop(procs, grace=5.0):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.nproc_per_node < 1:
        _parser().error(f"--nproc-per-node should be at least 1, got {args.nproc_per_node}")
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    mpiexec = find_mpiexec()
    if args.backend == "mpi" and mpiexec is None:
        _parser().error("--backend mpi: no mpiexec found; pip install \"pydl[distributed]\"")
    if args.backend != "nccl" and mpiexec is not None:
        return _run_mpiexec(mpiexec, args, env)
    return _run_processes(args, env)


if __name__ == "__main__":
    sys.exit(main())
