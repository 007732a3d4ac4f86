// The standalone dashboard: the results embedded in #pm-data, drawn with the same views.
(() => {
  const main = document.getElementById("dashboard");
  let data = null;
  try {
    data = JSON.parse(document.getElementById("pm-data").textContent);
  } catch (_) {
    data = null;
  }
  if (!data || typeof data !== "object") {
    PM.message(main, "This report has no data.", true);
    return;
  }
  const { el, name, text, list, obj } = PM;
  main.replaceChildren();
  const org = name(obj(data, "org") || {}) || "your organization";
  main.appendChild(el("p", { class: "pm-brand" }, "partnermap"));
  main.appendChild(el("h1", {}, "Partner dashboard: " + org));
  main.appendChild(el("p", { class: "pm-sub" }, "Generated " + (text(data.generated_at) || "") + ". Opens offline; nothing here loads from the network."));
  for (const n of list(data, "notes")) {
    main.appendChild(el("p", { class: "pm-note" }, "Left out: " + text(n)));
  }
  const sections = [];
  const section = (id, title) => {
    const s = el("section", { class: "pm-section", id, "aria-label": title });
    sections.push([id, title]);
    return s;
  };
  const parts = [];
  if (obj(data, "leaderboard")) {
    const s = section("leaderboard", "Leaderboard");
    PM.render("leaderboard", s, data.leaderboard);
    parts.push(s);
  }
  const overlaps = list(data, "overlaps");
  if (overlaps.length) {
    const s = section("overlaps", "Overlaps");
    const pick = el("select", { id: "pm-partner" }, overlaps.map((o, i) => el("option", { value: String(i) }, name(o, "partner") || name(o) || "Partner " + (i + 1))));
    const holder = el("div", { class: "pm-holder" });
    const draw = () => PM.render("overlaps", holder, overlaps[Number(pick.value) || 0]);
    pick.addEventListener("change", draw);
    s.appendChild(el("div", { class: "pm-tools" }, el("label", { for: "pm-partner" }, "Partner"), pick));
    s.appendChild(holder);
    draw();
    parts.push(s);
  }
  if (obj(data, "deals")) {
    const s = section("deals", "Deals");
    PM.render("deals", s, data.deals);
    parts.push(s);
  }
  if (obj(data, "influence")) {
    const s = section("influence", "Influence");
    PM.render("influence", s, data.influence);
    parts.push(s);
  }
  main.appendChild(el("nav", { class: "pm-nav", "aria-label": "Sections" }, sections.map(([id, t]) => el("a", { href: "#" + id }, t))));
  for (const s of parts) main.appendChild(s);
  main.dataset.rendered = "true";
})();
