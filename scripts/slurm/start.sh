#!/usr/bin/env bash
# Start a real single-node SLURM (Debian's slurm-wlm 22.05) on localhost, as root, without systemd,
# with a `gpu` GRES backed by fake device files, for tests and local trials of profiles/slurm.
#   scripts/slurm/start.sh        # installs slurm-wlm + munge from Debian when missing
#   scripts/slurm/stop.sh         # stops the daemons this script started
# The config must live at /etc/slurm/slurm.conf: the job-step plugin drops SLURM_CONF.
set -euo pipefail
STATE=${AMUNFLOW_SLURM_STATE:-/tmp/amunflow-slurm}
NGPU=${AMUNFLOW_SLURM_GPUS:-2}

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
if scontrol ping 2>/dev/null | grep -q "is UP"; then
  echo "slurm: a controller is already up"; exit 0
fi
mkdir -p "$STATE"/{spool,state,log,dev}
: > "$STATE/started"

# munge: its socket folder must be world-executable or munged refuses to start
mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
chmod 755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
fi
if ! pgrep -x munged >/dev/null; then
  runuser -u munge -- munged
  echo munged >> "$STATE/started"
fi
munge -n | unmunge | grep -q "STATUS:.*Success"

for i in $(seq 0 $((NGPU - 1))); do
  [ -e "$STATE/dev/fakegpu$i" ] || mknod "$STATE/dev/fakegpu$i" c 1 3
done
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 ))
mkdir -p /etc/slurm
cat > /etc/slurm/slurm.conf <<EOF
ClusterName=amunflow
SlurmctldHost=$HOST(127.0.0.1)
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=900
ReturnToService=2
GresTypes=gpu
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM Gres=gpu:$NGPU State=UNKNOWN
PartitionName=gpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
cat > /etc/slurm/gres.conf <<EOF
AutoDetect=off
NodeName=$HOST Name=gpu File=$STATE/dev/fakegpu[0-$((NGPU - 1))]
EOF

slurmctld
echo slurmctld >> "$STATE/started"
slurmd
echo slurmd >> "$STATE/started"
for _ in $(seq 1 60); do
  if sinfo -h -o "%T" 2>/dev/null | grep -qE "^idle"; then
    echo "slurm: node $HOST idle with $NGPU fake GPUs"; exit 0
  fi
  sleep 0.5
done
echo "slurm did not come up; see $STATE/log" >&2
exit 1
