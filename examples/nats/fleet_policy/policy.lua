-- The policy process of the fleet_policy example: its BeforeToolExecution
-- hook decides for every agent process that calls it over NATS.
--
-- Run (see run.sh): llmspell hooks serve --nats URL --point BeforeToolExecution policy.lua

Hook.register("BeforeToolExecution", function(ctx)
  local expr = ctx.data.expression or ""
  if expr:find("666", 1, true) then
    return { action = "cancel", reason = "fleet policy: expression refused (" .. ctx.correlation_id .. ")" }
  end
  if ctx.data.variables and ctx.data.variables.x then
    local d = ctx.data
    d.variables.x = math.min(d.variables.x, 100)   -- cap inputs for the whole fleet
    return { action = "modified", data = d }
  end
end, { name = "fleet-policy", component = "calculator" })
