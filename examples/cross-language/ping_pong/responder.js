// Cross-language ping-pong, JavaScript side (runs first: it must be listening
// before the Lua pinger starts).
//
// Shows: a JS subscription callback answering events published from Lua, the
// `language` field of what arrives, replies carrying the request's
// correlation id (and parent id = the request's id), and unsubscribing when
// told to stop so the run ends on its own.
//
// Run: llmspell run examples/cross-language/ping_pong/responder.js \
//                   examples/cross-language/ping_pong/pinger.lua

let answered = 0;
const sub = Event.subscribe("pingpong.ping", async (ev) => {
  if (ev.language !== "lua") throw new Error(`expected a ping from lua, got ${ev.language}`);
  answered += 1;
  const cid = ev.correlation_id.slice(0, 8);
  console.log(`[js]  got ${ev.type} round ${ev.data.round} from ${ev.language} (correlation ${cid})`);
  await Event.publish("pingpong.pong",
    { round: ev.data.round, answered, ping_language: ev.language, reply: `pong ${ev.data.round}` },
    { correlation_id: ev.correlation_id, parent_id: ev.id });
});

Event.subscribe("pingpong.stop", (ev) => {
  console.log(`[js]  stop from ${ev.language} after ${answered} pings; unsubscribing`);
  sub.unsubscribe();
});

console.log(`[js]  responder listening on ${sub.pattern()}`);
