-- Request/reply between components over the bus.
--
-- Shows: a callback subscriber acting as a service, replies published with
-- the request's correlation id and parent id, and a caller waiting for
-- its reply with Event.receive while the service callback runs on the same
-- engine (callbacks are delivered while a script waits in a host call).
--
-- Run: llmspell run examples/lua/events/request_reply.lua

-- The service: answers "geo.lookup" requests.
local cities = { paris = "FR", lima = "PE", osaka = "JP" }
Event.subscribe("geo.lookup.request", function(req)
  local code = cities[string.lower(req.data.city)] or "unknown"
  Event.publish("geo.lookup.reply." .. req.data.reply_to, { city = req.data.city, country = code },
                { correlation_id = req.correlation_id, parent_id = req.id })
end)

-- The caller: publishes a request and waits for the matching reply.
local me = "caller1"
local inbox = Event.subscribe("geo.lookup.reply." .. me)
local function lookup(city)
  local id = Event.publish("geo.lookup.request", { city = city, reply_to = me })
  local reply = Event.receive(inbox, 2000)
  assert(reply, "no reply for " .. city)
  assert(reply.parent_id == id, "the reply points at its request")
  return reply.data.country
end

for _, c in ipairs({ "Paris", "Osaka", "Atlantis" }) do
  print(c, "->", lookup(c))
end
assert(lookup("Lima") == "PE")
