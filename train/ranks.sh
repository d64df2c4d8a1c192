# ranks.sh - sourced by the recipes (multi30k.sh, general.sh) once $bin holds the built programs: how xlat-train runs
# on this machine. One MPI rank per core with one thread each trains faster than one process with a thread per core:
# each rank's own code runs on its own core, and two half-size products use the cores better than one threaded
# product (README, "Training on several processes and machines"). Sets ranks, threads (per rank) and launch (the
# mpirun words to put before xlat-train; empty for one rank). XLAT_RANKS chooses; by default one rank per core, at
# most 8 (a recipe gives each rank 2048 / ranks target tokens a step, which must hold a 256-token sentence), when
# Open MPI's mpirun is installed and xlat-train was built with MPI; else 1.
ranks=${XLAT_RANKS:-}
if [ -z "$ranks" ]; then
  ranks=1
  if [ "$(nproc)" -ge 2 ] && command -v mpirun >/dev/null && mpirun --version 2>/dev/null | grep -q "Open MPI" &&
    "$bin/xlat-train" --version | grep -q "over MPI"; then
    ranks=$(($(nproc) < 8 ? $(nproc) : 8))
  fi
fi
[[ $ranks =~ ^[1-9][0-9]*$ ]] || { echo "XLAT_RANKS expects a number of processes >= 1, found '$ranks'" >&2; exit 2; }
launch=()
if [ "$ranks" -gt 1 ]; then
  # --oversubscribe: Open MPI counts physical cores as slots (a VM's hyper-threads are not); root: containers
  launch=(mpirun -np "$ranks" --bind-to none --oversubscribe)
  [ "$(id -u)" -eq 0 ] && launch+=(--allow-run-as-root)
fi
threads=$(($(nproc) / ranks > 0 ? $(nproc) / ranks : 1))
