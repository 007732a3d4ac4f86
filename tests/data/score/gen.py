# Writes the score test network's CSV files (run once; the files are committed).
# Vega's deals, all closed in 2026 (inside the 365 days ending 2026-11-23) unless noted:
#   B  (base01-10):  each 1 won (1000 USD, 60 days) + 1 lost
#   G1 (g1acct01-10): each 1 won (5000 USD, 20 days); g1acct01 also has a 2024 won deal (outside)
#   G2 (g2acct01-10): each 1 won (1000 USD-equivalent: 800 EUR x3, 500 GBP x3, 150000 JPY x2,
#                     1000 USD x2 at EUR 0.8 / GBP 0.5 / JPY 150 per USD; 60 days) + 1 lost
#   G3 (g3acct01-10): each 1 won (500 USD, 90 days) + 3 lost
#   openone.com / opentwo.com: one open deal each
def w(name, rows):
    with open(name, "w") as f:
        f.write("\n".join(",".join(r) for r in rows) + "\n")

acc = [["id", "name", "website", "type", "owner", "industry", "country", "employees"]]
opp = [["id", "account_id", "name", "stage", "amount", "currency", "open_date", "close_date", "is_won", "is_closed"]]
def a(i, name, web, typ):
    acc.append([i, name, web, typ, "vera", "Software", "US", "100"])
def o(i, acct, amount, cur, op, cl, won, closed, stage=None):
    stage = stage or ("Closed Won" if won == "true" else ("Closed Lost" if closed == "true" else "Proposal"))
    opp.append([i, acct, f"Deal {i}", stage, amount, cur, op, cl, won, closed])

for g in ["base", "g1acct", "g2acct", "g3acct"]:
    for n in range(1, 11):
        a(f"{g}{n:02}", f"{g.upper()} {n:02}", f"https://www.{g}{n:02}.com", "Account")
for n in range(1, 11):
    k = f"{n:02}"
    o(f"B{k}W", f"base{k}", "1000", "USD", "2026-01-01", "2026-03-02", "true", "true")
    o(f"B{k}L", f"base{k}", "1000", "USD", "2026-01-01", "2026-02-01", "false", "true")
    o(f"G1{k}W", f"g1acct{k}", "5000", "USD", "2026-03-01", "2026-03-21", "true", "true")
    cur = ("800", "EUR") if n <= 3 else ("500", "GBP") if n <= 6 else ("150000", "JPY") if n <= 8 else ("1000", "USD")
    o(f"G2{k}W", f"g2acct{k}", cur[0], cur[1], "2026-01-01", "2026-03-02", "true", "true")
    o(f"G2{k}L", f"g2acct{k}", "1000", "USD", "2026-01-01", "2026-02-01", "false", "true")
    o(f"G3{k}W", f"g3acct{k}", "500", "USD", "2026-01-01", "2026-04-01", "true", "true")
    for j in range(3):
        o(f"G3{k}L{j}", f"g3acct{k}", "700", "USD", "2026-01-01", "2026-02-01", "false", "true")
o("G101OLD", "g1acct01", "1000000", "USD", "2024-01-01", "2024-06-01", "true", "true")
for n in range(1, 7):
    a(f"cust{n:02}", f"Cust {n:02}", f"cust{n:02}.com", "Customer")
a("open1", "Open One", "openone.com", "Prospect")
a("open2", "Open Two", "opentwo.com", "Prospect")
for n in range(1, 4):
    a(f"pros{n:02}", f"Pros {n:02}", f"pros{n:02}.com", "Prospect")
o("OPEN1", "open1", "20000", "USD", "2026-10-01", "2026-12-15", "false", "false")
o("OPEN2", "open2", "5000", "EUR", "2026-09-01", "", "false", "false")
w("vega_accounts.csv", acc)
w("vega_opportunities.csv", opp)

def partner(file, rows, header=("name", "website", "type")):
    w(file, [list(header)] + rows)
def g(prefix, rng, typ="Customer"):
    return [[f"{prefix} co {n:02}", f"{prefix}{n:02}.com", typ] for n in rng]
orion = g("g1acct", range(1, 11)) + g("cust", range(1, 5)) + g("pros", range(1, 3)) + [["Open One Inc", "openone.com", "Prospect"], ["Orion Only", "orion-only.com", "Customer"]]
partner("orion.csv", orion)
partner("cygnus.csv", orion)
partner("lyra.csv", g("g2acct", range(1, 11)) + [["Cust 5", "cust05.com", "Customer"], ["Open One", "openone.com", "Customer"], ["Pros 3", "pros03.com", "Customer"]])
partner("draco.csv", g("g3acct", range(1, 11)) + [["Cust 6", "cust06.com", "Customer"], ["Open One", "https://openone.com/", "Open"]])
partner("nova.csv", g("g1acct", range(1, 10)))
partner("nadir.csv", g("base", range(1, 11)) + g("g1acct", range(1, 11)) + g("g2acct", range(1, 11)) + g("g3acct", range(1, 11)))
partner("umber.csv", [["Open Two", "opentwo.com", "Prospect"]])
partner("umbra.csv", [["Cust 1", "cust01.com", "Customer"], ["Pros 1", "pros01.com", "Customer"]])
w("ursa.csv", [["name", "website", "segment", "notes"]] + [[f"G2 co {n:02}", f"g2acct{n:02}.com", "Customer", "secret"] for n in range(1, 6)])
