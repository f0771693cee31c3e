#!/usr/bin/env bash
# Two processes share events through NATS: worker.js (JavaScript) receives
# what shop.lua (Lua, another process) publishes, in order.
# Usage: run.sh LLMSPELL_BINARY NATS_URL
set -euo pipefail
bin=$1 url=$2
cd "$(dirname "$0")"
out=$(mktemp)
"$bin" run --storage memory --nats "$url" --nats-subscribe 'orders.**' worker.js -- 5 >"$out" 2>&1 &
worker=$!
for _ in $(seq 200); do grep -q '^ready$' "$out" && break; sleep 0.05; done
"$bin" run --storage memory --nats "$url" --nats-publish 'orders.**' shop.lua -- 5
status=0
wait "$worker" || status=$?
cat "$out"
rm -f "$out"
exit "$status"
