// Watching a page for changes, and a plain HTTP request to the same site.
//
// Shows: webpage_monitor keeping a snapshot of a selector's matches (here
// the rows of a price table): the first check sees the page for the first
// time, the next one compares against the snapshot and reports no change,
// with the time of the previous check; `forget` drops the snapshot.
// Snapshots live in the runtime's storage: with the default sled store they
// survive between runs, with --storage memory (as below) they do not.
// http_request reads the site's robots.txt.
//
// The site is examples/fixtures/site. Run, from the repository root:
//   python3 -m http.server 8000 --bind 127.0.0.1 --directory examples/fixtures/site &
//   llmspell run --storage memory --allow-host 127.0.0.1 --allow-address 127.0.0.1 \
//     examples/js/web/monitor_page.js -- http://127.0.0.1:8000
//
// (.ci/examples serves the site itself and runs this file with these lines:)
// flags: --allow-host 127.0.0.1 --allow-address 127.0.0.1
// args: {site}

const assert = (cond, msg) => { if (!cond) throw new Error(`assertion failed: ${msg}`); };

const site = (llmspell.args[0] ?? "").replace(/\/+$/, "");
assert(site, "pass the site's base URL after --, e.g. -- http://127.0.0.1:8000");

const watch = { operation: "check", url: `${site}/index.html`, selector: "#prices tbody tr" };
const first = await Tool.invoke("webpage_monitor", watch);
assert(first.first_seen && !first.changed, "the first check sees the page for the first time");
assert(first.matches === 3, `three rows, got ${first.matches}`);
console.log(`first check at ${first.checked_at}:\n${first.content}`);

const second = await Tool.invoke("webpage_monitor", watch);
assert(!second.first_seen && !second.changed, "the second check finds no change");
assert(second.previous_checked_at === first.checked_at, "the previous check's time is reported");
assert(second.checks === 2 && second.diff.lines_added === 0);
console.log(`second check: changed=${second.changed}, previous check ${second.previous_checked_at}`);

// The readable text of another page is watched under its own key.
const about = await Tool.invoke("webpage_monitor", { operation: "check", url: `${site}/about.html` });
assert(about.first_seen && about.content.includes("since 1999"), about.content);

const forgot = await Tool.invoke("webpage_monitor", { operation: "forget", url: watch.url, selector: watch.selector });
assert(forgot.forgotten, "the snapshot was dropped");
const third = await Tool.invoke("webpage_monitor", watch);
assert(third.first_seen, "after forget the page is new again");

const robots = await Tool.invoke("http_request", { url: `${site}/robots.txt` });
assert(robots.status === 200 && robots.body.includes("Disallow: /private/"), robots.body);
console.log("ok");
