#!/usr/bin/env bash
# The loop users write today from the vendor docs: trigger with curl, then poll each run with curl + jq,
# one run after the other, sleeping between polls. The benchmark runs it against the same sandbox scenario
# as the gate. Usage: DOCKET_API_KEY=... shell_gate.sh API_URL INTERVAL_S BLUEPRINT_ID...
set -euo pipefail
api=$1 interval=$2
shift 2
ids=$(printf '%s,' "$@")
body="{\"test_blueprint_ids\": [${ids%,}]}"

runs=$(curl -sS -X POST "$api/test_group_run/trigger_run" \
  -H "X-API-KEY: $DOCKET_API_KEY" -H "Content-Type: application/json" -d "$body" |
  jq -r '.test_group_run.test_runs[].id')

verdict=0
for run in $runs; do
  while true; do
    status=$(curl -sS "$api/test_run/$run" -H "X-API-KEY: $DOCKET_API_KEY" | jq -r '.test_run.status')
    case $status in
      running | queued | pending) sleep "$interval" ;;
      *) break ;;
    esac
  done
  echo "test run $run: $status"
  [ "$status" = passed ] || verdict=1
done
exit $verdict
