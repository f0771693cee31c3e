-- A sales report from a SQLite database with database_connector.
--
-- Shows: a query with bound parameters (values are never written into the
-- SQL), an aggregate over a join, typed columns, the row limit, the
-- read-only default (a write is refused until `[database] allow_writes` is
-- set), and the file-system sandbox (databases outside --fs-root are
-- refused).
--
-- Run, from the repository root:
--   llmspell run --fs-root examples/fixtures/data examples/lua/data/sqlite_report.lua
--
-- (.ci/examples runs this file with this line:)
-- flags: --fs-root examples/fixtures/data

local db = "shop.db"

-- Products under a price, cheapest first: the price is a bound parameter.
local cheap = Tool.invoke("database_connector", {
  database = db,
  sql = "SELECT name, price, in_stock FROM products WHERE price < ? ORDER BY price",
  params = { 10 },
})
assert(cheap.engine == "sqlite", cheap.engine)
assert(cheap.row_count == 3, "three products cost under 10: " .. cheap.row_count)
assert(cheap.rows[1].name == "Paper clips" and cheap.rows[3].name == "Stapler")
assert(cheap.rows[1].in_stock == true, "BOOLEAN columns come back as booleans")
for _, column in ipairs(cheap.columns) do
  print(("column %-9s %s"):format(column.name, column.type))
end

-- Revenue per category over a join, for orders in a date range.
local revenue = Tool.invoke("database_connector", {
  database = db,
  sql = [[
    SELECT p.category, SUM(o.quantity) AS items, ROUND(SUM(o.quantity * p.price), 2) AS revenue
    FROM orders o JOIN products p ON p.id = o.product_id
    WHERE o.placed_at BETWEEN ?1 AND ?2
    GROUP BY p.category ORDER BY revenue DESC
  ]],
  params = { "2026-11-01", "2026-11-30" },
})
for _, row in ipairs(revenue.rows) do
  print(("%-10s %3d items  %8.2f"):format(row.category, row.items, row.revenue))
end
assert(revenue.row_count == 2)
assert(revenue.rows[1].category == "office" and revenue.rows[1].revenue == 187.99,
  "office leads with 187.99: " .. tostring(revenue.rows[1].revenue))
assert(revenue.rows[2].items == 16, "16 stationery items: " .. tostring(revenue.rows[2].items))

-- A hostile value stays a value: it is bound, not spliced into the SQL.
local none = Tool.invoke("database_connector", {
  database = db,
  sql = "SELECT COUNT(*) AS n FROM products WHERE name = ?",
  params = { "x' OR '1'='1" },
})
assert(none.rows[1].n == 0, "the injection attempt matched nothing")

-- The row limit: past max_rows nothing more is fetched and `truncated` says so.
local first = Tool.invoke("database_connector", {
  database = db, sql = "SELECT id FROM orders ORDER BY id", max_rows = 2,
})
assert(first.row_count == 2 and first.truncated == true)

-- Writes are refused by default.
local ok, err = pcall(Tool.invoke, "database_connector", {
  database = db, sql = "DELETE FROM orders",
})
assert(not ok and tostring(err):find("allow_writes", 1, true), "the write was refused: " .. tostring(err))

-- So is a database outside the --fs-root directories.
ok, err = pcall(Tool.invoke, "database_connector", {
  database = "/etc/passwd", sql = "SELECT 1",
})
assert(not ok, "a file outside the roots was opened")
print("refused outside the roots: " .. tostring(err))

-- The refused DELETE removed nothing.
local count = Tool.invoke("database_connector", { database = db, sql = "SELECT COUNT(*) AS n FROM orders" })
assert(count.rows[1].n == 6, "all six orders are still there")
print("ok: report built; the write and the outside file were refused")
