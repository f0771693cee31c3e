-- Custom hook points for your own extension seams.
--
-- Shows: hooks at "custom:<name>" points fired by hand with Hook.fire, a
-- chain of hooks in priority order each seeing the previous one's
-- `modified` data, and a veto with `cancel`.
--
-- Run: llmspell run examples/lua/hooks/custom_points.lua

-- A deployment pipeline where plugins can adjust or veto a release.
Hook.register("custom:release", function(ctx)
  local d = ctx.data
  d.version = d.version or "0.0.0"
  d.notes = (d.notes or "") .. "[changelog checked]"
  return { action = "modified", data = d }
end, { name = "changelog", priority = "high" })

Hook.register("custom:release", function(ctx)
  if ctx.data.day == "friday" then
    return { action = "cancel", reason = "no releases on Fridays" }
  end
  local d = ctx.data
  d.notes = d.notes .. "[schedule ok]"
  return { action = "modified", data = d }
end, { name = "schedule" })

local r = Hook.fire("custom:release", { version = "1.4.0", day = "tuesday" }, "web")
print("tuesday:", r.action, r.data.notes)
assert(r.action == "modified" and r.data.notes == "[changelog checked][schedule ok]")

r = Hook.fire("custom:release", { version = "1.4.1", day = "friday" }, "web")
print("friday:", r.action, r.reason)
assert(r.action == "cancel" and r.reason == "no releases on Fridays")
