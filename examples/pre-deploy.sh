#!/usr/bin/env bash
# Deploy only when the DocketQA tests pass:  examples/pre-deploy.sh DEPLOY_COMMAND [ARGS...]
#
# Needs the CLI (`python3 -m pip install docketqa-gate`, see README) and DOCKET_API_KEY in the environment.
# Blueprints come from DOCKETQA_BLUEPRINTS ("180,181"), else from .docketqa.yml.
# DOCKETQA_DEPLOY_IF_UNAVAILABLE=true deploys anyway when DocketQA timed out (3) or could not be asked (4).
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 DEPLOY_COMMAND [ARGS...]" >&2
  exit 2
fi
if ! command -v docketqa-gate > /dev/null; then
  echo "docketqa-gate is not installed: python3 -m pip install docketqa-gate" >&2
  exit 2
fi

# `|| status=$?` keeps `set -e` from ending the script before we can look at the exit code.
status=0
docketqa-gate run ${DOCKETQA_BLUEPRINTS:+--blueprint "$DOCKETQA_BLUEPRINTS"} \
  --junit docketqa-junit.xml --json docketqa-result.json --summary docketqa-summary.md || status=$?

case "$status" in
  0)
    echo "DocketQA passed: deploying."
    ;;
  1)
    echo "DocketQA tests failed: not deploying. See docketqa-summary.md." >&2
    exit 1
    ;;
  2)
    echo "docketqa-gate usage or configuration error (message above): not deploying." >&2
    exit 2
    ;;
  3 | 4)
    if [ "${DOCKETQA_DEPLOY_IF_UNAVAILABLE:-false}" != "true" ]; then
      echo "DocketQA timed out (3) or its API failed (4), exit $status: not deploying." >&2
      exit "$status"
    fi
    echo "DocketQA timed out or its API failed (exit $status); deploying anyway as DOCKETQA_DEPLOY_IF_UNAVAILABLE=true." >&2
    ;;
  130 | 143)
    echo "Interrupted: not deploying." >&2
    exit "$status"
    ;;
  *)
    echo "docketqa-gate failed unexpectedly (exit $status; rerun with --debug): not deploying." >&2
    exit "$status"
    ;;
esac

exec "$@"
