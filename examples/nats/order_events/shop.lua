-- The publishing process of the order_events example: Lua publishing order
-- events with a correlation id; the NATS bridge sends orders.** to NATS.
--
-- Run (see run.sh): llmspell run --nats URL --nats-publish 'orders.**' shop.lua -- 5

local n = tonumber(llmspell.args[1] or "5")
for i = 1, n do
  Event.publish("orders.placed", { n = i, amount = i * 10 }, { correlation_id = "basket-" .. i })
end
print("published " .. n .. " orders")
