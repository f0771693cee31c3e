// The receiving process of the order_events example: JavaScript that
// subscribes to orders.** as usual; the NATS bridge delivers what another
// process (shop.lua) publishes, with its correlation id and language.
//
// Run (see run.sh): llmspell run --nats URL --nats-subscribe 'orders.**' worker.js -- 5

const sub = Event.subscribe("orders.**", { capacity: 1000 });
console.log("ready");
const want = Number(llmspell.args[0] ?? "5");
let total = 0;
for (let n = 1; n <= want; n++) {
  const ev = await Event.receive(sub, 15000);
  if (!ev) throw new Error(`only ${n - 1} of ${want} orders arrived`);
  if (ev.data.n !== n) throw new Error(`order ${ev.data.n} arrived in place ${n}`);
  total += ev.data.amount;
  console.log(`${ev.type} #${ev.data.n} ${ev.data.amount} from ${ev.language} (correlation ${ev.correlation_id})`);
}
console.log(`received ${want} orders, total ${total}`);
