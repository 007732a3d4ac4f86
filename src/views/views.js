// partnermap views: draws the structured results of get_overlaps, top_partners, deal_navigator
// and partner_influence. Shared by the MCP App documents and the standalone dashboard.
// Every string from the data goes into the page as a text node (textContent), never as HTML:
// names and labels are written by partners. Every field is optional.
const PM = (() => {
  // ---------- reading the data ----------

  // A value written by someone (a name, a label) as plain text. Tolerates the shapes the
  // outputs may take: "Acme", {partner_supplied: "Acme"}, {text: "Acme"}.
  function text(v) {
    if (v == null) return "";
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    if (typeof v === "object" && !Array.isArray(v)) {
      if ("partner_supplied" in v) return text(v.partner_supplied);
      if ("text" in v) return text(v.text);
      if ("value" in v) return text(v.value);
    }
    return "";
  }

  // The one accessor for names and labels: x.name, x.partner_supplied.name or
  // x.name.partner_supplied (and x itself when it is already a string).
  function name(x, key) {
    key = key || "name";
    if (x == null) return "";
    if (typeof x !== "object") return text(x);
    let v = x[key];
    if (v == null && x.partner_supplied && typeof x.partner_supplied === "object") {
      v = x.partner_supplied[key];
    }
    return text(v);
  }

  function num(x, key) {
    if (x == null || typeof x !== "object") return null;
    const v = x[key];
    return typeof v === "number" && isFinite(v) ? v : null;
  }

  function list(x, key) {
    if (x == null || typeof x !== "object") return [];
    const v = x[key];
    return Array.isArray(v) ? v : [];
  }

  function obj(x, key) {
    if (x == null || typeof x !== "object") return null;
    const v = x[key];
    return v != null && typeof v === "object" && !Array.isArray(v) ? v : null;
  }

  function idOf(x) {
    const v = x && typeof x === "object" ? x.id : null;
    return typeof v === "number" || typeof v === "string" ? String(v) : null;
  }

  // ---------- formatting ----------

  function fmtInt(n) {
    return n == null ? "–" : Math.round(n).toLocaleString("en-US");
  }
  function fmtNum(n, d) {
    return n == null ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  }
  function fmtUsd(n) {
    if (n == null) return "–";
    const a = Math.abs(n);
    if (a >= 1e6) return "$" + (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
    if (a >= 1e3) return "$" + (n / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k";
    return "$" + Math.round(n);
  }
  function fmtPct(n, d) {
    return n == null ? "–" : fmtNum(n, d == null ? 1 : d) + "%";
  }
  const SIGNALS = { customer: "customer", open_opportunity: "open opportunity", prospect: "prospect" };
  const LABELS = ["High", "Medium", "Low", "None", "Unknown"];
  function labelClass(l) {
    return LABELS.includes(l) ? "pm-" + l : "pm-Unknown";
  }

  // ---------- building the page ----------

  // el("td", {class: "num"}, "12", child...): strings become text nodes.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      e.setAttribute(k, v === true ? "" : String(v));
    }
  }
  function append(e, children) {
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
  }

  function header(root, title, sub) {
    root.appendChild(el("p", { class: "pm-brand" }, "partnermap"));
    root.appendChild(el("h2", {}, title));
    if (sub) root.appendChild(el("p", { class: "pm-sub" }, sub));
  }

  function message(root, msg, isError) {
    root.replaceChildren(el("p", { class: isError ? "pm-status pm-error" : "pm-status", role: "status" }, msg));
  }

  // ---------- overlaps: heatmap ----------

  function overlaps(root, d) {
    const cells = list(d, "cells");
    const partner = name(d, "partner") || name(d) || "the partner";
    const rows = [], cols = [], rowIx = new Map(), colIx = new Map();
    const key = (p) => idOf(p) || "n:" + name(p);
    for (const c of cells) {
      const m = obj(c, "my_population") || {}, p = obj(c, "partner_population") || {};
      if (!rowIx.has(key(m))) { rowIx.set(key(m), rows.length); rows.push(m); }
      if (!colIx.has(key(p))) { colIx.set(key(p), cols.length); cols.push(p); }
    }
    const grid = rows.map(() => cols.map(() => null));
    let max = 0, sum = 0;
    for (const c of cells) {
      const r = rowIx.get(key(obj(c, "my_population") || {}));
      const k = colIx.get(key(obj(c, "partner_population") || {}));
      const n = num(c, "overlap_count") || 0;
      grid[r][k] = n;
      max = Math.max(max, n);
      sum += n;
    }
    const total = num(d, "total");
    header(root, "Overlaps with " + partner,
      cells.length + " cell" + (cells.length === 1 ? "" : "s") +
      (total != null && total > cells.length ? " of " + fmtInt(total) : "") +
      " · largest " + fmtInt(max) + " accounts");
    if (!cells.length) {
      root.appendChild(el("p", { class: "pm-note" }, "No overlap cells: no population of yours or none of " + partner + "'s that you can see."));
      return;
    }
    const detail = el("div", { class: "pm-detail", role: "status", "aria-live": "polite" },
      "Select a cell to see its populations.");
    const table = el("table", { class: "pm-heat" },
      el("caption", {}, "Your populations (rows) against " + partner + "'s (columns): the number of your accounts in both."));
    const thead = el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, el("span", { class: "sr-only" }, "Your population")),
      cols.map((p) => el("th", { scope: "col" }, name(p)))));
    const tbody = el("tbody");
    const buttons = [];
    rows.forEach((m, r) => {
      const tr = el("tr", {}, el("th", { scope: "row" }, name(m)));
      cols.forEach((p, k) => {
        const n = grid[r][k];
        if (n == null) { tr.appendChild(el("td", {}, "")); return; }
        const a = max > 0 ? 0.06 + 0.84 * (n / max) : 0.06;
        const b = el("button", {
          type: "button", class: "pm-cell" + (a > 0.55 ? " pm-strong" : ""),
          "aria-pressed": "false", "data-row": r, "data-col": k,
          "aria-label": name(m) + " × " + name(p) + ": " + fmtInt(n) + " accounts",
        }, fmtInt(n));
        b.style.setProperty("--a", a.toFixed(3));
        const show = () => {
          for (const o of buttons) o.setAttribute("aria-pressed", o === b ? "true" : "false");
          const rowSum = grid[r].reduce((s, x) => s + (x || 0), 0);
          detail.replaceChildren(
            el("strong", {}, fmtInt(n) + " accounts"), " of yours are in ",
            el("strong", {}, name(m)), " (yours) and in ", el("strong", {}, name(p)),
            " (" + partner + "'s). ",
            el("span", { class: "pm-small" },
              (rowSum ? Math.round((100 * n) / rowSum) + "% of this row's overlaps; " : "") +
              (sum ? Math.round((100 * n) / sum) + "% of all overlaps shown." : "")));
        };
        b.addEventListener("click", show);
        b.addEventListener("focus", show);
        b.addEventListener("mouseenter", show);
        b.addEventListener("keydown", (ev) => {
          const dr = { ArrowUp: -1, ArrowDown: 1 }[ev.key] || 0;
          const dc = { ArrowLeft: -1, ArrowRight: 1 }[ev.key] || 0;
          if (!dr && !dc) return;
          const t = root.querySelector('button.pm-cell[data-row="' + (r + dr) + '"][data-col="' + (k + dc) + '"]');
          if (t) { ev.preventDefault(); t.focus(); }
        });
        buttons.push(b);
        tr.appendChild(el("td", {}, b));
      });
      tbody.appendChild(tr);
    });
    table.appendChild(thead);
    table.appendChild(tbody);
    root.appendChild(el("div", { class: "pm-scroll" }, table));
    root.appendChild(detail);
    if (d.next_cursor) {
      root.appendChild(el("p", { class: "pm-note" }, "More cells exist: ask for the next page."));
    }
  }

  // ---------- leaderboard: impact vs coverage ----------

  // Mid-rank percentile (0-100) of each value among the values, as partner_score defines it.
  function midRank(values) {
    const xs = values.filter((v) => v != null);
    return values.map((v) => {
      if (v == null || !xs.length) return null;
      const below = xs.filter((x) => x < v).length, equal = xs.filter((x) => x === v).length;
      return (100 * (below + 0.5 * equal)) / xs.length;
    });
  }

  function leaderboard(root, d) {
    const ps = list(d, "partners");
    const scored = (p) => ["High", "Medium", "Low"].includes(text(p.label));
    const imp = midRank(ps.map((p) => (scored(p) ? num(p, "impact") : null)));
    const cov = midRank(ps.map((p) => (scored(p) ? num(p, "coverage_pct") : null)));
    const pts = ps.map((p, i) => ({
      p, i,
      x: num(p, "coverage_percentile") != null ? num(p, "coverage_percentile") : cov[i],
      y: num(p, "impact_percentile") != null ? num(p, "impact_percentile") : imp[i],
    })).filter((q) => scored(q.p) && q.x != null && q.y != null);
    const total = num(d, "total");
    header(root, "Partner leaderboard",
      fmtInt(ps.length) + " partner" + (ps.length === 1 ? "" : "s") +
      (total != null && total > ps.length ? " of " + fmtInt(total) : "") +
      " · " + pts.length + " scored" + (d.as_of ? " · as of " + text(d.as_of) : ""));
    if (!ps.length) {
      root.appendChild(el("p", { class: "pm-note" }, "No active partners to rank yet."));
      return;
    }
    const detail = el("div", { class: "pm-detail", role: "status", "aria-live": "polite" },
      "Hover or focus a point or a row to see the partner.");
    const W = 360, H = 320, L = 42, R = 12, T = 12, B = 40;
    const sx = (v) => L + ((W - L - R) * v) / 100, sy = (v) => T + ((H - T - B) * (100 - v)) / 100;
    const chartId = "pm-lb-desc";
    const s = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "group", "aria-labelledby": chartId });
    s.appendChild(svg("desc", { id: chartId },
      "Scatter of the " + pts.length + " scored partners: coverage percentile across, impact percentile up; the ranked table beside it holds the same data."));
    for (const v of [0, 25, 50, 75, 100]) {
      s.appendChild(svg("line", { class: "pm-axis", x1: sx(v), x2: sx(v), y1: sy(0), y2: sy(100) }));
      s.appendChild(svg("line", { class: "pm-axis", x1: sx(0), x2: sx(100), y1: sy(v), y2: sy(v) }));
      s.appendChild(svg("text", { x: sx(v), y: sy(0) + 14, "text-anchor": "middle" }, String(v)));
      s.appendChild(svg("text", { x: sx(0) - 6, y: sy(v) + 4, "text-anchor": "end" }, String(v)));
    }
    // s = 0.7 impact + 0.3 coverage: the High and Low boundaries.
    for (const t of [66.7, 33.3]) {
      const y0 = t / 0.7, y1 = (t - 30) / 0.7;
      s.appendChild(svg("line", { class: "pm-iso", x1: sx(0), y1: sy(Math.min(100, y0)), x2: sx(100), y2: sy(Math.max(0, y1)) }));
    }
    s.appendChild(svg("text", { x: (sx(0) + sx(100)) / 2, y: H - 4, "text-anchor": "middle" }, "coverage percentile"));
    s.appendChild(svg("text", { x: 12, y: (sy(0) + sy(100)) / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (sy(0) + sy(100)) / 2 + ")" }, "impact percentile"));
    const rowsByIx = new Map(), ptsByIx = new Map();
    const highlight = (i) => {
      for (const [j, tr] of rowsByIx) tr.classList.toggle("pm-hl", j === i);
      for (const [j, c] of ptsByIx) c.classList.toggle("pm-hl", j === i);
      const p = ps[i];
      const q = pts.find((z) => z.i === i);
      detail.replaceChildren(el("strong", {}, name(p)), " ",
        el("span", { class: "pm-badge " + labelClass(text(p.label)) }, text(p.label) || "Unknown"), " ",
        q ? "impact percentile " + fmtNum(q.y, 0) + ", coverage percentile " + fmtNum(q.x, 0) + "; " : "not scored; ",
        "s " + fmtNum(num(p, "s"), 1) + ", " + fmtInt(num(p, "overlap_count")) + " overlapping accounts, " +
        fmtInt(num(p, "won_deals_with_partner")) + " won deals with them.");
    };
    for (const q of pts) {
      const lab = text(q.p.label);
      const c = svg("circle", {
        class: "pm-pt " + labelClass(lab), cx: sx(q.x).toFixed(1), cy: sy(q.y).toFixed(1), r: 6, tabindex: 0,
        role: "img", "aria-label": name(q.p) + ": " + lab + ", impact percentile " + fmtNum(q.y, 0) + ", coverage percentile " + fmtNum(q.x, 0),
      }, svg("title", {}, name(q.p) + " (" + lab + ")"));
      c.addEventListener("mouseenter", () => highlight(q.i));
      c.addEventListener("focus", () => highlight(q.i));
      c.addEventListener("click", () => highlight(q.i));
      ptsByIx.set(q.i, c);
      s.appendChild(c);
    }
    const legend = el("div", { class: "pm-legend", "aria-hidden": "true" },
      ["High", "Medium", "Low"].map((l) => el("span", { class: "pm-" + l }, l)));
    const chart = el("div", { class: "pm-chart" }, s, legend, detail);
    const table = el("table", { class: "pm-rank" },
      el("caption", {}, "Ranked by " + (text(d.sort) || "score") + ". S = 0.7 × impact percentile + 0.3 × coverage percentile."),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", class: "num" }, "#"), el("th", { scope: "col" }, "Partner"),
        el("th", { scope: "col" }, "Label"), el("th", { scope: "col", class: "num" }, "S"),
        el("th", { scope: "col", class: "num" }, "Coverage"), el("th", { scope: "col", class: "num" }, "Overlaps"),
        el("th", { scope: "col", class: "num" }, "Win-rate lift"), el("th", { scope: "col", class: "num" }, "Won deals"))));
    const tb = el("tbody");
    ps.forEach((p, i) => {
      const lab = text(p.label) || "Unknown";
      const reasons = list(p, "reasons").map((r) => text(r).replace(/_/g, " ")).filter(Boolean);
      const tr = el("tr", { tabindex: 0, "data-partner": idOf(p) },
        el("td", { class: "num" }, String(i + 1)),
        el("th", { scope: "row" }, name(p), p.offline === true ? el("span", { class: "pm-small" }, " (offline)") : null),
        el("td", {}, el("span", { class: "pm-badge " + labelClass(lab) }, lab),
          reasons.length ? el("div", { class: "pm-small" }, reasons.join(", ")) : null),
        el("td", { class: "num" }, fmtNum(num(p, "s"), 1)),
        el("td", { class: "num" }, fmtPct(num(p, "coverage_pct"))),
        el("td", { class: "num" }, fmtInt(num(p, "overlap_count"))),
        el("td", { class: "num" }, num(p, "win_rate_lift") == null ? "–" : "×" + fmtNum(num(p, "win_rate_lift"), 2)),
        el("td", { class: "num" }, fmtInt(num(p, "won_deals_with_partner"))));
      tr.addEventListener("mouseenter", () => highlight(i));
      tr.addEventListener("focus", () => highlight(i));
      rowsByIx.set(i, tr);
      tb.appendChild(tr);
    });
    table.appendChild(tb);
    root.appendChild(el("div", { class: "pm-split" }, chart, el("div", { class: "pm-list pm-scroll" }, table)));
  }

  // ---------- deal navigator ----------

  function deals(root, d) {
    const items = list(d, "opportunities");
    const open = num(d, "open_opportunities");
    const withHelp = items.filter((it) => list(it, "recommendations").length > 0).length;
    header(root, "Deal navigator",
      (open != null ? fmtInt(open) + " open deals · " : "") + fmtInt(items.length) + " shown · " +
      fmtInt(withHelp) + " with a partner who can help");
    if (!items.length) {
      root.appendChild(el("p", { class: "pm-note" }, "No open deals."));
      return;
    }
    const select = el("select", { id: "pm-signal" },
      el("option", { value: "" }, "all deals"),
      Object.entries(SIGNALS).map(([k, v]) => el("option", { value: k }, "a partner has it as " + v)));
    root.appendChild(el("div", { class: "pm-tools" }, el("label", { for: "pm-signal" }, "Show"), select));
    const table = el("table", { class: "pm-deals" },
      el("caption", {}, "Open deals, strongest partner signal first; amounts in USD at the current rates."),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Deal"), el("th", { scope: "col" }, "Account"),
        el("th", { scope: "col" }, "Stage"), el("th", { scope: "col", class: "num" }, "Amount (USD)"),
        el("th", { scope: "col" }, "Close"), el("th", { scope: "col" }, "Partners who can help"))));
    const tb = el("tbody");
    const trs = [];
    for (const it of items) {
      const o = obj(it, "opportunity") || {}, a = obj(it, "account") || {};
      const recs = list(it, "recommendations");
      const amount = num(o, "amount"), cur = text(o.currency);
      const chips = el("ul", { class: "pm-chips", role: "list" }, recs.map((r) => {
        const sig = text(r.signal), lab = text(r.label);
        return el("li", { class: "pm-chip" },
          el("span", { class: "pm-pname" }, name(obj(r, "partner") || r, "name")),
          el("span", { class: "pm-sig pm-sig-" + (SIGNALS[sig] ? sig : "prospect") }, SIGNALS[sig] || sig),
          lab ? el("span", { class: "pm-badge " + labelClass(lab) }, lab) : null,
          r.recent_thread_activity === true ? el("span", { class: "pm-small", title: "recent thread with this partner" }, "● thread") : null);
      }));
      if (it.recommendations_truncated === true) chips.appendChild(el("li", { class: "pm-small" }, "and more"));
      const tr = el("tr", { "data-signals": recs.map((r) => text(r.signal)).join(" ") },
        el("th", { scope: "row" }, name(o) || text(o.external_id) || "Deal " + (idOf(o) || ""),
          o.external_id ? el("div", { class: "pm-small" }, text(o.external_id)) : null),
        el("td", {}, name(a), a.domain ? el("div", { class: "pm-small" }, name(a, "domain")) : null),
        el("td", {}, name(o, "stage")),
        el("td", { class: "num" }, fmtUsd(num(o, "amount_usd")),
          amount != null && cur && cur !== "USD" ? el("div", { class: "pm-small" }, fmtInt(amount) + " " + cur) : null),
        el("td", {}, name(o, "close_date")),
        el("td", {}, recs.length ? chips : el("span", { class: "pm-small" }, "no partner signal")));
      trs.push(tr);
      tb.appendChild(tr);
    }
    table.appendChild(tb);
    root.appendChild(el("div", { class: "pm-scroll" }, table));
    select.addEventListener("change", () => {
      const v = select.value;
      for (const tr of trs) tr.hidden = v !== "" && !tr.dataset.signals.split(" ").includes(v);
    });
    if (d.next_cursor) root.appendChild(el("p", { class: "pm-note" }, "More deals exist: ask for the next page."));
  }

  // ---------- partner influence ----------

  function influence(root, d) {
    const rows = list(d, "rows");
    const byPartner = text(d.group_by) !== "period";
    const period = obj(d, "period") || {};
    const totals = obj(d, "totals") || {};
    const w = obj(totals, "with_partner") || {}, wo = obj(totals, "without_partner") || {};
    header(root, "Partner influence" + (byPartner ? " by partner" : " by period"),
      (period.from || period.to ? text(period.from) + " to " + text(period.to) + " · " : "") +
      fmtInt(rows.length) + " row" + (rows.length === 1 ? "" : "s"));
    const card = (title, m) => el("div", { class: "pm-card" },
      el("span", { class: "pm-small" }, title),
      el("b", {}, fmtUsd(num(m, "won_usd")) + " won"),
      el("span", {}, fmtInt(num(m, "won")) + " won / " + fmtInt(num(m, "lost")) + " lost · win rate " + fmtPct(num(m, "win_rate_pct"))),
      el("div", { class: "pm-small" }, fmtInt(num(m, "opened")) + " opened (" + fmtUsd(num(m, "opened_usd")) + ")"));
    root.appendChild(el("div", { class: "pm-cards" }, card("With a partner", w), card("Without a partner", wo)));
    if (!rows.length) {
      root.appendChild(el("p", { class: "pm-note" }, "No deals in this period."));
      return;
    }
    const rowLabel = (r) => (byPartner ? name(obj(r, "partner") || {}) : text(r.period));
    // Bars: won and lost USD per row.
    const max = Math.max(1, ...rows.map((r) => (num(r, "won_usd") || 0) + (num(r, "lost_usd") || 0)));
    const LW = 150, BW = 300, RH = 22, W = LW + BW + 120, H = rows.length * RH + 8;
    const s = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": "pm-inf-desc", class: "pm-bars" },
      svg("desc", { id: "pm-inf-desc" }, "Won (green) and lost (grey) deal value per row; the table below has the numbers."));
    rows.forEach((r, i) => {
      const y = 4 + i * RH, won = num(r, "won_usd") || 0, lost = num(r, "lost_usd") || 0;
      const lbl = rowLabel(r);
      s.appendChild(svg("text", { class: "pm-rowlabel", x: LW - 6, y: y + 14, "text-anchor": "end" }, lbl.length > 22 ? lbl.slice(0, 21) + "…" : lbl));
      const ww = (BW * won) / max, lw = (BW * lost) / max;
      s.appendChild(svg("rect", { class: "pm-won", x: LW, y: y + 3, width: ww.toFixed(1), height: RH - 8 }, svg("title", {}, lbl + ": " + fmtUsd(won) + " won")));
      s.appendChild(svg("rect", { class: "pm-lost", x: (LW + ww).toFixed(1), y: y + 3, width: lw.toFixed(1), height: RH - 8 }, svg("title", {}, lbl + ": " + fmtUsd(lost) + " lost")));
      s.appendChild(svg("text", { x: (LW + ww + lw + 6).toFixed(1), y: y + 14 }, fmtPct(num(r, "win_rate_pct"), 0) + " win"));
    });
    root.appendChild(el("div", { class: "pm-chart pm-wide" }, s));
    const table = el("table", { class: "pm-infl" },
      el("caption", {}, "Deals opened, won and lost " + (byPartner ? "per partner" : "per period") + "."),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, byPartner ? "Partner" : "Period"),
        el("th", { scope: "col", class: "num" }, "Opened"), el("th", { scope: "col", class: "num" }, "Opened (USD)"),
        el("th", { scope: "col", class: "num" }, "Won"), el("th", { scope: "col", class: "num" }, "Won (USD)"),
        el("th", { scope: "col", class: "num" }, "Lost"), el("th", { scope: "col", class: "num" }, "Lost (USD)"),
        el("th", { scope: "col", class: "num" }, "Win rate"))));
    const tb = el("tbody");
    for (const r of rows) {
      tb.appendChild(el("tr", {},
        el("th", { scope: "row" }, rowLabel(r)),
        el("td", { class: "num" }, fmtInt(num(r, "opened"))), el("td", { class: "num" }, fmtUsd(num(r, "opened_usd"))),
        el("td", { class: "num" }, fmtInt(num(r, "won"))), el("td", { class: "num" }, fmtUsd(num(r, "won_usd"))),
        el("td", { class: "num" }, fmtInt(num(r, "lost"))), el("td", { class: "num" }, fmtUsd(num(r, "lost_usd"))),
        el("td", { class: "num" }, fmtPct(num(r, "win_rate_pct")))));
    }
    table.appendChild(tb);
    root.appendChild(el("div", { class: "pm-scroll" }, table));
  }

  const VIEWS = { overlaps, leaderboard, deals, influence };

  // Draws `data` (a tool's structured result) as view `view` into `root`, replacing its content.
  function render(view, root, data) {
    const f = VIEWS[view];
    root.replaceChildren();
    if (!f) return message(root, "Unknown view.", true);
    if (data == null || typeof data !== "object") return message(root, "The tool result has no data to show.", true);
    f(root, data);
    root.dataset.rendered = "true";
  }

  return { render, message, el, text, name, num, list, obj };
})();
