-- Reading a small web site with the web tools: scraping, page metadata and
-- the sitemap.
--
-- Shows: web_scraper with named CSS selectors (a heading, a table with its
-- header row, links resolved against the page) and the page's readable text
-- (no navigation, sidebar, footer or scripts); url_analyzer reading the
-- page's title, description and canonical link; sitemap_crawler reading
-- robots.txt, following its Sitemap: line and leaving out the URL it
-- disallows. Every request goes through the network safety layer, which
-- refuses loopback unless the command line allows it.
--
-- The site is examples/fixtures/site. Run, from the repository root:
--   python3 -m http.server 8000 --bind 127.0.0.1 --directory examples/fixtures/site &
--   llmspell run --allow-host 127.0.0.1 --allow-address 127.0.0.1 \
--     examples/lua/web/scrape_local_site.lua -- http://127.0.0.1:8000
--
-- (.ci/examples serves the site itself and runs this file with these lines:)
-- flags: --allow-host 127.0.0.1 --allow-address 127.0.0.1
-- args: {site}

local site = llmspell.args[1]
assert(site, "pass the site's base URL after --, e.g. -- http://127.0.0.1:8000")
site = site:gsub("/+$", "")

local page = Tool.invoke("web_scraper", {
  url = site .. "/index.html",
  selectors = {
    heading = { selector = "main h1", first = true },
    prices = { selector = "#prices", extract = "table", first = true },
    links = { selector = "main", extract = "links", first = true },
    nav = { selector = "nav a", extract = "attribute", attribute = "href" },
  },
  readable = true,
})
assert(page.results.heading == "Widget prices", "heading: " .. tostring(page.results.heading))
local prices = page.results.prices
assert(#prices.rows == 3 and prices.headers[2] == "Price", "the price table and its header row")
for _, row in ipairs(prices.records) do
  print(string.format("%-7s %5s  in stock: %s", row.Widget, row.Price, row["In stock"]))
end
assert(page.results.links[1].href == site .. "/blog/first-post.html", "links are resolved")
assert(page.results.nav[3] == site .. "/about.html", "href attributes are resolved")

local text = page.readable.text
assert(text:find("made by hand", 1, true), "the main content is in the readable text")
for _, absent in ipairs({ "Newsletter", "Copyright", "analytics", "font-family" }) do
  assert(not text:find(absent, 1, true), "boilerplate in the readable text: " .. absent)
end
print(("readable text: %d words, starting %q"):format(page.readable.word_count, (text:sub(1, 40):gsub("\n", " / "))))

local meta = Tool.invoke("url_analyzer", { operation = "fetch", url = site .. "/index.html" })
assert(meta.title == "Widget Works" and meta.description == "Small widgets, made well.")
assert(meta.canonical == site .. "/index.html", "canonical: " .. tostring(meta.canonical))

local crawl = Tool.invoke("sitemap_crawler", { url = site .. "/" })
assert(crawl.robots.status == "found", "robots.txt was read")
assert(crawl.count == 3, "three crawlable URLs, got " .. crawl.count)
assert(crawl.disallowed == 1 and crawl.disallowed_sample[1] == site .. "/private/draft.html")
for _, u in ipairs(crawl.urls) do
  print(u.loc, u.lastmod, u.changefreq, u.priority)
end

-- The safety layer still refuses what the flags do not allow.
local ok, err = pcall(Tool.invoke, "web_scraper", { url = "http://10.0.0.1/", readable = true })
assert(not ok and err.kind == "security_violation", tostring(err))
print("ok")
