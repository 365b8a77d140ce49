#!/usr/bin/env bash
# slurm_start.sh DIR: a single-node Slurm under DIR for the sweep test (tests/cli/sweep.sh):
# munged with its own key and socket, slurmctld and slurmd as root on random ports, one
# partition "debug" with this host's cores. Prints the slurm.conf path; the caller exports
# SLURM_CONF and stops the daemons by their pid files (DIR/slurmd.pid, DIR/slurmctld.pid,
# DIR/munge/munged.pid).
set -u
d=$1; mkdir -p "$d"/state "$d"/spool "$d"/munge; chmod 700 "$d"/munge
h=$(hostname -s)
dd if=/dev/urandom of="$d/munge/munge.key" bs=1 count=1024 2>/dev/null; chmod 400 "$d/munge/munge.key"
/usr/sbin/munged --force --socket="$d/munge/munge.socket" --key-file="$d/munge/munge.key" \
  --pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" --seed-file="$d/munge/munge.seed" || exit 1
p1=$((20000 + RANDOM % 20000)); p2=$((p1 + 1))
cat > "$d/slurm.conf" <<C
ClusterName=sinklabtest
SlurmctldHost=$h
SlurmctldPort=$p1
SlurmdPort=$p2
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
NodeName=$h CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
C
export SLURM_CONF=$d/slurm.conf
/usr/sbin/slurmctld -f "$d/slurm.conf" || exit 1
/usr/sbin/slurmd -f "$d/slurm.conf" || exit 1
echo "$d/slurm.conf"
