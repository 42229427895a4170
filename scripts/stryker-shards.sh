#!/usr/bin/env bash
# Run Stryker shards from a queue, one process per call; start one per core for a parallel run:
#   scripts/stryker-shards.sh QUEUE NAME [TIMEOUT_S]
# QUEUE has a line per shard, `CONFIG TAG MUTATE` (MUTATE as for --mutate: file[:a-b][,file...]).
# Each call takes the first line (under a lock, so several calls share one queue), runs it with
# --incremental --incrementalFile reports/mutation/inc-TAG.json (an existing file is reused, so a
# re-run after new tests measures only what changed) and its own temp directory, and goes on until
# the queue is empty. Stryker writes a report only when a run ends: keep shards small (about 150
# mutants at 2–5 s each) or TIMEOUT_S (default 2700) loses them. Progress: reports/mutation/shards.log.
set -u
if [ $# -lt 2 ] || [ $# -gt 3 ]; then echo 'usage: scripts/stryker-shards.sh QUEUE NAME [TIMEOUT_S]' >&2; exit 2; fi
queue=$1
name=$2
timeout_s=${3:-2700}
[ -f "$queue" ] || { echo "QUEUE: no such file: $queue" >&2; exit 2; }
[[ $name =~ ^[A-Za-z0-9_-]+$ ]] || { echo "NAME: letters, digits, - and _ only: $name" >&2; exit 2; }
[[ $timeout_s =~ ^[0-9]+$ ]] || { echo "TIMEOUT_S: a whole number of seconds: $timeout_s" >&2; exit 2; }
mkdir -p reports/mutation/logs
log=reports/mutation/shards.log
while true; do
  job=$(flock "$queue.lock" bash -c 'l=$(head -1 "$0"); [ -n "$l" ] && sed -i 1d "$0"; echo "$l"' "$queue")
  [ -z "$job" ] && break
  read -r config tag mutate <<<"$job"
  echo "$(date -u +%T) $name start $tag $mutate" >> "$log"
  timeout "$timeout_s" npx stryker run "$config" --mutate "$mutate" --concurrency 1 --tempDirName ".stryker-tmp/$name" \
    --incremental --incrementalFile "reports/mutation/inc-$tag.json" > "reports/mutation/logs/$tag.out" 2>&1
  echo "$(date -u +%T) $name end $tag rc=$? $(grep -E '^All files' "reports/mutation/logs/$tag.out" | tail -1)" >> "$log"
done
echo "$(date -u +%T) $name done" >> "$log"
