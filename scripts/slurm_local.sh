#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, to try grading across machines
# (scripts/slurm_grade.sh) without a real cluster; tests/test_shards.py starts one.
#   bash scripts/slurm_local.sh start [DIR]   start munged, slurmctld and slurmd (as root) with a
#                                             generated DIR/slurm.conf; prints SLURM_CONF=...
#   bash scripts/slurm_local.sh stop [DIR]    stop the three, by their pid files in DIR
# DIR defaults to /tmp/hw2-slurm. Needs Debian's slurm-wlm and munge (apt-get install -y
# slurm-wlm munge); no systemd: the daemons run straight from here. Then, with the printed
# SLURM_CONF exported, sbatch/squeue/sinfo talk to this cluster.
set -euo pipefail
command=${1:?usage: slurm_local.sh start|stop [DIR]}
dir=$(realpath -m "${2:-/tmp/hw2-slurm}")
conf=$dir/slurm.conf

stop() {
  for daemon in slurmd slurmctld munged; do
    if [ -f "$dir/$daemon.pid" ]; then
      kill "$(cat "$dir/$daemon.pid")" 2>/dev/null || true
      rm -f "$dir/$daemon.pid"
    fi
  done
}

wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds, or fail
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then echo "slurm_local: timed out waiting for: $*" >&2; return 1; fi
    sleep 0.5
  done
}

case "$command" in
  start)
    [ "$(id -u)" -eq 0 ] || { echo "slurm_local: start it as root" >&2; exit 1; }
    stop
    mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
    chmod 700 "$dir" "$dir/munge"
    [ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key"
    # munged refuses to run as root without --force; this cluster is root's alone
    munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
      --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed"
    host=$(hostname -s)
    cat > "$conf" <<EOF
ClusterName=hw2local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SLURM_LOCAL_PORT:-6817}
SlurmdPort=$(( ${SLURM_LOCAL_PORT:-6817} + 1 ))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# no cgroups and no accounting: a container or a VM without systemd has neither to offer
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    slurmctld -f "$conf"
    slurmd -f "$conf"
    wait_for 60 env SLURM_CONF="$conf" sh -c 'sinfo -h -o %t | grep -qx idle'
    echo "SLURM_CONF=$conf"
    ;;
  stop) stop ;;
  *) echo "usage: slurm_local.sh start|stop [DIR]" >&2; exit 2 ;;
esac
