-- Registered before the runtime starts (a [[hooks]] script entry): counts
-- completed tool calls.
tool_calls = 0
Hook.register("AfterToolExecution", function() tool_calls = tool_calls + 1 end, { name = "tagger" })
