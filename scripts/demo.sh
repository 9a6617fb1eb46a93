#!/usr/bin/env bash
# The main job, end to end, on the bundled sandbox: start a sandbox (holding the trial component
# of scripts/demo-preload.yaml, as SageMaker would have made it), plan and apply manifests/ (a
# whole lineage graph) into a lockfile outside the tracked files (.reconciler/demo/, ignored by
# git), show that a second plan has no changes, audit, draw the graph. Then the same for two targets (examples/targets: a staging
# and a production account, both served by the sandbox, each reached by assuming its role),
# copied to .reconciler/demo/targets. Stop the sandbox. Nothing tracked is modified.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck disable=SC2206
reconciler=(${RECONCILER:-$PWD/.venv/bin/reconciler})
work=.reconciler/demo
rm -rf "$work"
mkdir -p "$work"
lock="$work/artifacts.lock.json"

"${reconciler[@]}" sandbox --port 0 --url-file "$work/sandbox-url" \
  --account 123456789012 --account 210987654321 --preload scripts/demo-preload.yaml \
  >/dev/null 2>"$work/sandbox.log" &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true' EXIT
for _ in $(seq 300); do
  [ -s "$work/sandbox-url" ] && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$work/sandbox.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/sandbox-url" ] || { echo "the sandbox did not start" >&2; exit 1; }

export AWS_ENDPOINT_URL="$(cat "$work/sandbox-url")"
export AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox AWS_REGION=eu-west-1
export AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
echo "sandbox: $AWS_ENDPOINT_URL"

step() { printf '\n== %s\n' "$*"; }
step "reconciler validate"
"${reconciler[@]}" validate
step "reconciler plan --lockfile $lock"
"${reconciler[@]}" plan --lockfile "$lock"
step "reconciler apply --auto-approve --lockfile $lock"
"${reconciler[@]}" apply --auto-approve --lockfile "$lock"
step "reconciler plan --detailed-exitcode --lockfile $lock   (0: nothing left to do)"
"${reconciler[@]}" plan --detailed-exitcode --lockfile "$lock"
step "reconciler audit --lockfile $lock"
"${reconciler[@]}" audit --lockfile "$lock"
step "the lockfile ($lock), first lines"
head -n 8 "$lock"
step "reconciler graph --around churn-model-approval --depth 1   (Mermaid, as the PR comment draws it)"
"${reconciler[@]}" graph --around churn-model-approval --depth 1

step "several targets: examples/targets, copied to $work/targets"
cp -R examples/targets "$work/targets"
cd "$work/targets"
"${reconciler[@]}" targets
step "reconciler validate   (every target)"
"${reconciler[@]}" validate
step "reconciler plan   (every target)"
"${reconciler[@]}" plan
step "reconciler apply --auto-approve   (staging, then prod, each in its own account)"
"${reconciler[@]}" apply --auto-approve
step "reconciler plan --detailed-exitcode   (0: nothing left to do in any target)"
"${reconciler[@]}" plan --detailed-exitcode
step "reconciler audit --live --target prod"
"${reconciler[@]}" audit --live --target prod
