#!/usr/bin/env bash
# One policy process enforces BeforeToolExecution for an agent process; with
# fail closed, the agent's tool calls are refused while the policy is down.
# Usage: run.sh LLMSPELL_BINARY NATS_URL
set -euo pipefail
bin=$1 url=$2
cd "$(dirname "$0")"
log=$(mktemp)
"$bin" hooks serve --storage memory --nats "$url" --point BeforeToolExecution policy.lua 2>"$log" &
policy=$!
for _ in $(seq 200); do grep -q 'serving hooks' "$log" && break; sleep 0.05; done
"$bin" run --storage memory --nats "$url" --nats-remote-hook BeforeToolExecution:closed agent.lua
kill -TERM "$policy"; wait "$policy" || true
cat "$log"; rm -f "$log"
# The policy process is down: fail closed refuses the call.
if "$bin" run --storage memory --nats "$url" --nats-remote-hook BeforeToolExecution:closed agent.lua 2>&1; then
  echo "the tool call ran without its policy" >&2
  exit 1
fi
echo "refused while the policy process is down, as fail = closed says"
