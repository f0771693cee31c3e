// Topic patterns and pull subscriptions.
//
// Shows: Event.subscribe with exact topics, `*` (exactly one segment), `**`
// (any number of segments) and globs inside a segment (`user_*`); pull
// subscriptions (no callback) drained with `await Event.receive(sub, ms)`,
// which resolves to the next event or null on timeout; the event fields.
//
// Run: llmspell run examples/js/events/wildcard_routing.js

const assert = (cond, msg) => { if (!cond) throw new Error(`assertion failed: ${msg}`); };

const patterns = {
  "exact": "orders.created",
  "one segment": "orders.*",
  "any depth": "orders.**",
  "shipped anywhere": "orders.*.shipped",
  "glob in a segment": "user_*.login",
};
// Pull subscriptions: events queue up until the script asks for them.
const subs = Object.fromEntries(Object.entries(patterns).map(([name, p]) => [name, Event.subscribe(p)]));

const topics = [
  "orders.created", "orders.eu.shipped", "orders.us.shipped", "orders.cancelled",
  "orders.eu.returns.opened", "user_alice.login", "user_bob.login", "admin.login",
];
for (const topic of topics) await Event.publish(topic, { at: new Date().toISOString() });

// Drain each queue: receive until nothing arrives for 20 ms.
const got = {};
for (const [name, sub] of Object.entries(subs)) {
  got[name] = [];
  for (let ev = await Event.receive(sub, 20); ev !== null; ev = await Event.receive(sub, 20)) {
    got[name].push(ev.type);
  }
  console.log(`${name.padEnd(18)} ${sub.pattern().padEnd(17)} ${got[name].join(", ")}`);
}

assert(got["exact"].length === 1, "exact match");
assert(got["one segment"].join() === "orders.created,orders.cancelled", "`*` is one segment");
assert(got["any depth"].length === 5, "`**` matches every orders topic");
assert(got["shipped anywhere"].length === 2, "orders.*.shipped");
assert(got["glob in a segment"].length === 2, "user_* does not match admin");

// The shape of one event, with publish options.
const shape = Event.subscribe("demo.shape");
const { uuid } = await Tool.invoke("uuid_generator", { operation: "generate" }); // ids are UUIDs
const id = await Event.publish("demo.shape", { answer: 42 }, { tags: ["demo"], correlation_id: uuid });
const ev = await Event.receive(shape, 1000);
console.log(`event: type=${ev.type} language=${ev.language} sequence=${ev.sequence} ` +
            `tags=${ev.tags} correlation_id=${ev.correlation_id} data.answer=${ev.data.answer}`);
assert(ev.id === id && ev.data.answer === 42 && ev.language === "javascript", "event fields");
assert(ev.correlation_id === uuid && ev.tags[0] === "demo", "publish options are kept");
assert(await Event.receive(shape, 10) === null, "an empty queue times out with null");

const listed = Event.list_subscriptions();
console.log(`${listed.length} subscriptions, ${listed.reduce((n, s) => n + s.queued, 0)} events still queued`);
assert(listed.length === 6 && listed.every((s) => s.queued === 0 && s.language === "javascript"), "all drained");
