#!/usr/bin/env bash
# Launches any qzo command data-parallel under mpirun, on one machine or a cluster.
#   launch/mpirun.sh -n 2 -- train configs/quickstart.yaml            # this machine, 2 CPU ranks
#   launch/mpirun.sh -n 16 --hostfile hosts -- train cfg.yaml         # 4 hosts x 4 ranks (hostfile: "node1 slots=4")
#   launch/mpirun.sh -n 8 --gpus-per-node 8 -- train cfg.yaml --comm nccl
# One rank per GPU: ranks are placed --gpus-per-node per host and qzo gives the i-th rank
# on a host GPU i. CPU ranks split the host's cores (threads: 0 in the config).
# Extra mpirun flags: QZO_MPIRUN_FLAGS="--mca btl_tcp_if_include eth0".
set -euo pipefail
cd "$(dirname "$0")/.."
ranks=2 hostfile="" per_node=""
while (($#)); do
  case "$1" in
    -n|--ranks) ranks=$2; shift 2 ;;
    --hostfile) hostfile=$2; shift 2 ;;
    --gpus-per-node) per_node=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "launch/mpirun.sh: unknown option '$1' (expected -n N, --hostfile FILE, --gpus-per-node G, then -- and the qzo command)" >&2; exit 2 ;;
  esac
done
(($#)) || { echo "launch/mpirun.sh: missing the qzo command after -- (e.g. -- train configs/quickstart.yaml)" >&2; exit 2; }
[[ "$ranks" =~ ^[1-9][0-9]*$ ]] || { echo "launch/mpirun.sh: -n expects a positive rank count, got '$ranks'" >&2; exit 2; }
[ -x build/qzo ] || { echo "launch/mpirun.sh: build/qzo not found; run launch/setup.sh first" >&2; exit 2; }

mpi=(mpirun -np "$ranks" --bind-to none)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
if [ -n "$hostfile" ]; then
  [ -f "$hostfile" ] || { echo "launch/mpirun.sh: hostfile '$hostfile' not found" >&2; exit 2; }
  mpi+=(--hostfile "$hostfile")
else
  # One machine: allow more ranks than cores (tests, small machines).
  mpi+=(--oversubscribe)
fi
[ -n "$per_node" ] && mpi+=(--map-by "ppr:${per_node}:node")
# shellcheck disable=SC2206
extra=(${QZO_MPIRUN_FLAGS:-})
exec "${mpi[@]}" "${extra[@]}" "$PWD/build/qzo" "$@"
