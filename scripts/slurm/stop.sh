#!/usr/bin/env bash
# Stop the daemons scripts/slurm/start.sh started (by their PID files), nothing else.
set -u
STATE=${AMUNFLOW_SLURM_STATE:-/tmp/amunflow-slurm}
[ -f "$STATE/started" ] || exit 0
for d in slurmd slurmctld; do
  if grep -qx "$d" "$STATE/started" && [ -f "$STATE/$d.pid" ]; then
    kill "$(cat "$STATE/$d.pid")" 2>/dev/null
  fi
done
if grep -qx munged "$STATE/started"; then
  pkill -x munged 2>/dev/null
fi
rm -f "$STATE/started"
echo "slurm: stopped"
