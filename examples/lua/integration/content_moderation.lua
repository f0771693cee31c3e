-- Content moderation across tools, agents and events.
--
-- Shows: a script-defined tool used by an agent, a security-style hook
-- that blocks flagged input before the agent runs (`cancel`), a `replace`
-- hook serving canned answers, an event-driven metrics subscriber, and
-- Event.stats.
--
-- Run: llmspell run examples/lua/integration/content_moderation.lua

local banned = { "spam", "scam" }

Tool.register({
  name = "word_count",
  description = "counts words in text",
  parameters = { type = "object", required = { "text" }, properties = { text = { type = "string" } } },
  handler = function(params)
    local n = 0
    for _ in params.text:gmatch("%S+") do n = n + 1 end
    return { words = n }
  end,
})

local replier = Agent.create({ name = "replier", handler = function(input, agent)
  local wc = agent:invoke_tool("word_count", { text = input.text }).words
  return { reply = "Thanks for your " .. wc .. "-word message!" }
end })

Hook.register("BeforeAgentExecution", function(ctx)
  local text = string.lower(ctx.data.text or "")
  for _, w in ipairs(banned) do
    if text:find(w, 1, true) then
      Event.publish("moderation.blocked", { word = w })
      return { action = "cancel", reason = "message blocked: contains '" .. w .. "'" }
    end
  end
end, { component = "replier", name = "moderation", priority = "highest" })

Hook.register("BeforeAgentExecution", function(ctx)
  if string.lower(ctx.data.text or "") == "hours?" then
    return { action = "replace", value = { reply = "We are open 9-17, Monday to Friday." } }
  end
end, { component = "replier", name = "faq" })

local counts = { blocked = 0, answered = 0 }
Event.subscribe("moderation.blocked", function() counts.blocked = counts.blocked + 1 end)
Event.subscribe("agent.replier.completed", function() counts.answered = counts.answered + 1 end)

for _, msg in ipairs({ "Hello there, I love the product", "hours?", "Buy cheap SPAM now", "is this a scam" }) do
  local ok, out = pcall(function() return replier:invoke({ text = msg }) end)
  print(string.format("%-34s -> %s", '"' .. msg .. '"', ok and out.reply or ("blocked (" .. tostring(out):match("message blocked[^\n]*") .. ")")))
end

while counts.blocked + counts.answered < 4 do llmspell.sleep(1) end
print(string.format("answered %d, blocked %d", counts.answered, counts.blocked))
local s = Event.stats()
print(string.format("bus: %d published, %d delivered", s.published, s.delivered))
assert(counts.blocked == 2 and counts.answered == 2)
