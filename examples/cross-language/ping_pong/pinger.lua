-- Cross-language ping-pong, Lua side (runs second, after responder.js).
--
-- Shows: Lua publishing events a JavaScript callback answers, waiting for
-- each reply with Event.receive (the JS callback runs meanwhile), matching
-- replies by correlation id and parent id, and the `language` field telling
-- who published each event. A fixed number of rounds, then a stop event.
--
-- Run: llmspell run examples/cross-language/ping_pong/responder.js \
--                   examples/cross-language/ping_pong/pinger.lua

local ROUNDS = 3
local inbox = Event.subscribe("pingpong.pong")

for round = 1, ROUNDS do
  local cid = Tool.invoke("uuid_generator", { operation = "generate" }).uuid
  local id = Event.publish("pingpong.ping", { round = round }, { correlation_id = cid })
  local pong = Event.receive(inbox, 2000)
  assert(pong, "no pong for round " .. round)
  print(string.format("[lua] got %s %q from %s (correlation %s)",
    pong.type, pong.data.reply, pong.language, pong.correlation_id:sub(1, 8)))
  assert(pong.language == "javascript", "the pong comes from JS, not " .. tostring(pong.language))
  assert(pong.correlation_id == cid, "the pong carries the ping's correlation id")
  assert(pong.parent_id == id, "the pong's parent is the ping")
  assert(pong.data.round == round and pong.data.answered == round, "rounds stay in step")
  assert(pong.data.ping_language == "lua", "JS saw the ping as coming from lua")
end

Event.publish("pingpong.stop", { rounds = ROUNDS })
assert(Event.receive(inbox, 100) == nil, "no stray pongs")
print(string.format("[lua] %d rounds done", ROUNDS))
