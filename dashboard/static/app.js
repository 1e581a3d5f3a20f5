// Switchyard dashboard. Hand-written, no build step, no dependencies.
//
// It reads only the admin API (same origin, relative URLs so it also works
// behind a reverse proxy under a sub-path). Everything the API returns is
// treated as hostile text: it reaches the page through text nodes and
// textContent only, never as markup.
"use strict";

(function () {
  const TOKEN_KEY = "switchyard.adminToken";
  const REFRESH_MS = 3000;
  const KINDS = ["slack", "http", "email"];

  // ---------------------------------------------------------------- DOM

  // el builds an element. attrs: class, id, for, href (internal "#/..."
  // links only), hidden, disabled, checked, value, data-*, aria-*, and any
  // other plain attribute. Children: nodes, or strings and numbers that
  // become text nodes; null, undefined and false are skipped; arrays are
  // flattened.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "for") e.htmlFor = v;
      else if (k === "value") e.value = v;
      else if (k === "checked" || k === "hidden" || k === "disabled" || k === "selected") e[k] = Boolean(v);
      else if (k === "href") e.setAttribute("href", String(v).startsWith("#") ? v : "#");
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    append(e, children);
    return e;
  }

  function append(parent, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) append(parent, c);
      else if (c instanceof Node) parent.appendChild(c);
      else parent.appendChild(document.createTextNode(String(c)));
    }
  }

  // fill replaces a node's children, with el's rules for them.
  function fill(node, ...children) {
    node.replaceChildren();
    append(node, children);
  }

  const $ = (id) => document.getElementById(id);

  // Tables: the header names label each cell too, so that a narrow window
  // can show each row as a small card (see style.css).
  const EVENT_COLS = ["#", "Matched at", "Source", "Event", "ID", "Rules matched", "Deliveries"];
  const DELIVERY_COLS = ["At", "Rule", "Action", "Attempt", "Outcome", "Latency", "Error"];
  const SOURCE_COLS = ["Name", "Vendor", "URL path"];
  const RULE_COLS = ["Name", "Sources", "When", "Actions", "Matches", "Errors"];

  function table(id, caption, cols, body) {
    return el("div", { class: "table-wrap" },
      el("table", { id, class: "cards-when-narrow" },
        caption ? el("caption", { class: "sr-only" }, caption) : null,
        el("thead", {}, el("tr", {}, cols.map((h) => el("th", { scope: "col" }, h)))),
        body));
  }

  function row(attrs, cols, ...cells) {
    const tr = el("tr", attrs);
    cells.forEach((c, i) => {
      const td = c instanceof Node && c.nodeName === "TD" ? c : el("td", {}, c);
      td.dataset.label = cols[i];
      tr.appendChild(td);
    });
    return tr;
  }

  function setText(node, text) {
    node.textContent = text === null || text === undefined ? "" : String(text);
  }

  // showMessage sets an alert or status paragraph, hiding it when empty.
  function showMessage(node, text) {
    setText(node, text);
    node.hidden = !text;
  }

  // replaceIfChanged swaps a container's children only when the data they
  // show changed, so a refresh does not reset selections or scroll.
  const rendered = new WeakMap(); // node -> JSON of the data it shows
  function replaceIfChanged(node, data, build) {
    const key = JSON.stringify(data);
    if (rendered.get(node) === key) return;
    rendered.set(node, key);
    fill(node, build());
  }

  const zeroTime = (iso) => !iso || iso.startsWith("0001-01-01");

  function fmtTime(iso) {
    if (zeroTime(iso)) return el("span", { class: "muted" }, "—");
    const d = new Date(iso);
    if (isNaN(d)) return el("span", {}, iso);
    return el("time", { datetime: iso, title: iso }, d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" }));
  }

  function fmtMS(ms) {
    if (typeof ms !== "number") return "";
    if (ms >= 1000) return (ms / 1000).toFixed(2) + " s";
    return ms.toFixed(ms < 10 ? 2 : 0) + " ms";
  }

  function pretty(v) {
    return JSON.stringify(v, null, 2);
  }

  function badge(outcome) {
    const known = ["delivered", "retrying", "dead"].includes(outcome) ? outcome : "other";
    return el("span", { class: "badge outcome-" + known, "data-testid": "outcome" }, outcome || "?");
  }

  function chips(names, hrefFor) {
    if (!names || names.length === 0) return el("span", { class: "muted" }, "none");
    return el("ul", { class: "chips" }, names.map((n) => el("li", {}, hrefFor ? el("a", { href: hrefFor(n) }, n) : n)));
  }

  function labelled(label, control) {
    return el("div", { class: "field" }, el("label", { for: control.id }, label), control);
  }

  function select(id, name, blank, values, current) {
    const s = el("select", { id, name }, el("option", { value: "" }, blank));
    const all = values.slice();
    if (current && !all.includes(current)) all.push(current);
    for (const v of all) s.appendChild(el("option", { value: v }, v));
    s.value = current || "";
    return s;
  }

  function dl(pairs) {
    return el("dl", { class: "facts" }, pairs.filter(Boolean).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  }

  // twoStep makes a button ask for a second click before it acts.
  function twoStep(button, confirmLabel, act) {
    const label = button.textContent;
    let timer = null;
    button.addEventListener("click", () => {
      if (!button.classList.contains("confirming")) {
        button.classList.add("confirming");
        setText(button, confirmLabel());
        timer = setTimeout(reset, 5000);
        return;
      }
      reset();
      act();
    });
    function reset() {
      clearTimeout(timer);
      button.classList.remove("confirming");
      setText(button, label);
    }
  }

  // ---------------------------------------------------------------- API

  class APIError extends Error {
    constructor(status, message, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  let tokenPrompt = null; // the pending prompt, shared by every request that got a 401
  let tokenGiven = null; // resolves tokenPrompt

  // askToken shows the token form once, however many requests are waiting.
  function askToken(refused) {
    if (tokenPrompt) return tokenPrompt;
    tokenPrompt = new Promise((resolve) => {
      tokenGiven = resolve;
    });
    showMessage($("token-error"), refused ? "That token was refused. Enter the token given to serve with --admin-token." : "");
    $("token-panel").hidden = false;
    $("token-input").value = "";
    $("token-input").focus();
    return tokenPrompt;
  }

  // The form never submits anywhere: the token must not end up in a URL.
  function onTokenSubmit(ev) {
    ev.preventDefault();
    const input = $("token-input");
    if (!tokenGiven || !input.value) return;
    sessionStorage.setItem(TOKEN_KEY, input.value);
    input.value = "";
    $("token-panel").hidden = true;
    $("forget-token").hidden = false;
    const resolve = tokenGiven;
    tokenPrompt = tokenGiven = null;
    resolve();
  }

  // api calls the admin API and returns the decoded JSON answer. A 401
  // asks for the token and tries again; any other failure throws an
  // APIError carrying the API's {"error": "..."} message.
  async function api(method, path, body) {
    for (;;) {
      const token = sessionStorage.getItem(TOKEN_KEY);
      const headers = { Accept: "application/json" };
      if (token) headers.Authorization = "Bearer " + token;
      const init = { method, headers, cache: "no-store", credentials: "same-origin" };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      let resp;
      try {
        resp = await fetch(path, init);
      } catch (e) {
        throw new APIError(0, "Cannot reach the admin listener (" + e.message + ").");
      }
      if (resp.status === 401) {
        // Forget the refused token, unless another request already stored a new one.
        if (token && sessionStorage.getItem(TOKEN_KEY) === token) sessionStorage.removeItem(TOKEN_KEY);
        await askToken(Boolean(token));
        continue;
      }
      const text = await resp.text();
      let data = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch (e) {
        data = null;
      }
      if (!resp.ok) {
        const msg = data && typeof data.error === "string" ? data.error : resp.status + " " + resp.statusText;
        throw new APIError(resp.status, msg, data);
      }
      return data;
    }
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    const s = q.toString();
    return s ? "?" + s : "";
  }

  // meta is /api/rules, cached for the filter menus and the try form.
  let metaPromise = null;
  function meta(fresh) {
    if (fresh || !metaPromise) {
      metaPromise = api("GET", "api/rules").catch((e) => {
        metaPromise = null;
        throw e;
      });
    }
    return metaPromise;
  }
  const sourceNames = (m) => (m.sources || []).map((s) => s.name);
  const ruleNames = (m) => (m.rules || []).map((r) => r.name);

  // ---------------------------------------------------------------- views

  // Each view builds its DOM once in render and updates it in refresh; the
  // router calls refresh again every few seconds while auto-refresh is on.

  function filterForm(id, fields, params, base) {
    const form = el("form", { id, class: "filters", role: "search" }, fields,
      el("div", { class: "field buttons" },
        el("button", { type: "submit" }, "Apply"),
        el("button", { type: "button", class: "secondary", id: id + "-clear" }, "Clear")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const p = {};
      for (const [k, v] of new FormData(form).entries()) p[k] = String(v).trim();
      go(base + query(p));
    });
    form.querySelector("#" + id + "-clear").addEventListener("click", () => go(base));
    return form;
  }

  // fillFilters sets the menus of a filter form once /api/rules answers.
  async function fillFilters(view, params, menus) {
    if (view.filled) return;
    let m;
    try {
      m = await meta();
    } catch (e) {
      return; // the view's own refresh reports the error
    }
    if (!view.live() || view.filled) return;
    view.filled = true;
    for (const [id, blank, values] of menus(m)) {
      const old = $(id);
      old.replaceWith(select(id, old.name, blank, values, params.get(old.name) || ""));
    }
  }

  function eventsView(params) {
    const body = el("tbody", { id: "events-body" });
    const error = el("p", { id: "events-error", class: "error", role: "alert", hidden: true });
    const empty = el("p", { id: "events-empty", class: "muted", hidden: true });
    const older = el("a", { id: "events-older", class: "button secondary", hidden: true }, "Older events");
    const newest = el("a", { id: "events-newest", class: "button secondary", href: "#/events" + query({ source: params.get("source"), event: params.get("event"), rule: params.get("rule") }), hidden: !params.get("before") }, "Newest events");
    const view = {
      title: "Recent events",
      render() {
        return [
          el("h2", { tabindex: "-1" }, "Recent events"),
          filterForm("events-filter", [
            labelled("Source", select("filter-source", "source", "All sources", [], params.get("source") || "")),
            labelled("Event", el("input", { id: "filter-event", name: "event", type: "search", placeholder: "vote.created", value: params.get("event") || "", spellcheck: "false" })),
            labelled("Rule matched", select("filter-rule", "rule", "Any or none", [], params.get("rule") || "")),
          ], params, "#/events"),
          error,
          table("events-table", "Events, newest first", EVENT_COLS, body),
          empty,
          el("div", { class: "pager" }, newest, older),
        ];
      },
      async refresh() {
        fillFilters(view, params, (m) => [["filter-source", "All sources", sourceNames(m)], ["filter-rule", "Any or none", ruleNames(m)]]);
        const res = await api("GET", "api/events" + query({ source: params.get("source"), event: params.get("event"), rule: params.get("rule"), before: params.get("before"), limit: 50 }));
        if (!view.live()) return;
        showMessage(error, "");
        const events = (res && res.events) || [];
        replaceIfChanged(body, events, () => events.map(eventRow));
        showMessage(empty, events.length ? "" : params.toString() ? "No events match these filters." : "No events yet. Events appear here once a source delivers one and it has been matched.");
        const next = res && res.next_before;
        older.hidden = !next;
        if (next) {
          const p = new URLSearchParams(params);
          p.set("before", next);
          older.setAttribute("href", "#/events?" + p.toString());
        }
      },
      fail(e) {
        showMessage(error, e.message);
      },
    };
    return view;
  }

  function eventRow(r) {
    const errs = r.errors || [];
    return row({ "data-testid": "event-row", "data-seq": r.seq }, EVENT_COLS,
      el("td", {}, el("a", { href: "#/events/" + encodeURIComponent(r.seq), "aria-label": "Event " + r.seq + " details" }, "#" + r.seq)),
      el("td", {}, fmtTime(r.at)),
      el("td", {}, r.source),
      el("td", {}, el("a", { href: "#/events/" + encodeURIComponent(r.seq) }, r.event)),
      el("td", { class: "mono clip", title: r.id }, r.id),
      el("td", { "data-testid": "event-rules" }, chips(r.rules),
        errs.length ? el("span", { class: "badge outcome-dead", title: errs.map((x) => x.rule + ": " + x.error).join("\n") }, errs.length + " condition error" + (errs.length > 1 ? "s" : "")) : null),
      el("td", { class: "num" }, r.jobs));
  }

  function eventDetailView(seq) {
    const error = el("p", { id: "event-error", class: "error", role: "alert", hidden: true });
    const summary = el("div", { id: "event-summary" });
    const deliveries = el("tbody", { id: "deliveries-body" });
    const noDeliveries = el("p", { id: "deliveries-empty", class: "muted", hidden: true }, "No delivery recorded for this event (yet).");
    const json = el("pre", { id: "event-json", class: "json", tabindex: "0" });
    const view = {
      title: "Event #" + seq,
      render() {
        return [
          el("p", {}, el("a", { href: "#/events" }, "← Recent events")),
          el("h2", { tabindex: "-1", id: "event-title" }, "Event #" + seq),
          error,
          summary,
          el("h3", {}, "Deliveries"),
          table("deliveries-table", "Delivery attempts, oldest first", DELIVERY_COLS, deliveries),
          noDeliveries,
          el("h3", {}, "Normalized event"),
          el("p", { class: "muted" }, "What conditions and templates see: source, vendor, event, id, time, data, payload, headers."),
          json,
        ];
      },
      async refresh() {
        const res = await api("GET", "api/events/" + encodeURIComponent(seq));
        if (!view.live()) return;
        showMessage(error, "");
        const r = res.record || {};
        $("event-title").textContent = "Event #" + seq + " · " + (r.source || "") + " " + (r.event || "");
        replaceIfChanged(summary, r, () => dl([
          ["Key", el("span", { class: "mono" }, r.key)],
          ["Source", r.source + (r.vendor && r.vendor !== r.source ? " (" + r.vendor + ")" : "")],
          ["Event", r.event],
          ["ID", el("span", { class: "mono" }, r.id)],
          ["Happened", fmtTime(r.time)],
          ["Received", fmtTime(r.received)],
          ["Matched", fmtTime(r.at)],
          ["Rules matched", el("div", { id: "event-rules" }, chips(r.rules, (n) => "#/events" + query({ rule: n })))],
          (r.errors || []).length ? ["Condition errors", el("ul", { id: "event-rule-errors", class: "plain" }, r.errors.map((x) => el("li", {}, el("strong", {}, x.rule), ": ", el("span", { class: "error-text" }, x.error))))] : null,
          ["Deliveries created", String(r.jobs)],
        ]));
        const ds = res.deliveries || [];
        replaceIfChanged(deliveries, ds, () => ds.map(deliveryRow));
        noDeliveries.hidden = ds.length > 0;
        const text = res.event ? pretty(res.event) : "(not stored)";
        if (json.textContent !== text) json.textContent = text;
      },
      fail(e) {
        showMessage(error, e.status === 404 ? "Event #" + seq + " is not in the log (it may have aged out)." : e.message);
      },
    };
    return view;
  }

  function deliveryRow(d) {
    let detail = d.error ? el("span", { class: "error-text" }, d.error) : null;
    if (d.outcome === "retrying" && d.next_attempt_in_ms) {
      detail = [detail, el("div", { class: "muted" }, "next attempt in " + fmtMS(d.next_attempt_in_ms))];
    }
    return row({ "data-testid": "delivery-row", "data-outcome": d.outcome, "data-rule": d.rule }, DELIVERY_COLS,
      el("td", {}, fmtTime(d.at)),
      el("td", {}, d.rule),
      el("td", {}, "#" + d.action + " " + d.kind),
      el("td", { class: "num" }, d.attempt),
      el("td", {}, badge(d.outcome)),
      el("td", { class: "num" }, fmtMS(d.latency_ms)),
      el("td", { class: "wrap" }, detail));
  }

  function deadLettersView(params) {
    const error = el("p", { id: "dl-error", class: "error", role: "alert", hidden: true });
    const message = el("p", { id: "dl-message", class: "notice-line", role: "status", hidden: true });
    const list = el("ol", { id: "dead-letters-list", class: "cards" });
    const empty = el("p", { id: "dl-empty", class: "muted", hidden: true });
    const count = el("span", { id: "dl-count", class: "muted" });
    const filter = { rule: params.get("rule"), kind: params.get("kind"), source: params.get("source"), since: params.get("since"), until: params.get("until") };
    let shown = 0;
    // The bulk endpoints refuse an empty filter unless told all=true; the
    // buttons ask for a second click before acting on everything shown.
    const bulkQuery = () => (Object.values(filter).some(Boolean) ? query(filter) : "?all=true");

    async function act(method, path, verb, noun) {
      showMessage(message, "");
      showMessage(error, "");
      try {
        const res = await api(method, path);
        const done = res.replayed || res.dropped || [];
        const failed = res.failed || [];
        let text = done.length ? verb + " " + done.map((s) => "#" + s).join(", ") + "." : "Nothing to " + noun + ".";
        if (verb === "Replayed" && done.length) text += " Back in the queue with a fresh attempt count.";
        if (failed.length) text += " Failed: " + failed.map((f) => (typeof f === "object" ? "#" + (f.seq ?? "?") + (f.error ? " (" + f.error + ")" : "") : "#" + f)).join(", ") + ".";
        showMessage(message, text);
      } catch (e) {
        showMessage(error, e.message);
      }
      if (view.live()) view.refresh().catch((e) => view.fail(e));
    }

    const replayAll = el("button", { type: "button", id: "replay-all" }, "Replay all matching");
    const dropAll = el("button", { type: "button", id: "drop-all", class: "danger" }, "Drop all matching");
    twoStep(replayAll, () => "Replay " + shown + (shown === 100 ? "+" : "") + "? Click again", () => act("POST", "api/dead-letters/replay" + bulkQuery(), "Replayed", "replay"));
    twoStep(dropAll, () => "Drop " + shown + (shown === 100 ? "+" : "") + " for good? Click again", () => act("DELETE", "api/dead-letters" + bulkQuery(), "Dropped", "drop"));

    function card(d) {
      const j = d.job || {};
      const ev = j.event || {};
      const r = d.rendered || {};
      const replay = el("button", { type: "button", "data-testid": "replay" }, "Replay");
      const drop = el("button", { type: "button", class: "danger", "data-testid": "drop" }, "Drop");
      replay.addEventListener("click", () => {
        replay.disabled = true;
        act("POST", "api/dead-letters/" + encodeURIComponent(d.seq) + "/replay", "Replayed", "replay");
      });
      twoStep(drop, () => "Drop for good?", () => act("DELETE", "api/dead-letters/" + encodeURIComponent(d.seq), "Dropped", "drop"));
      return el("li", { class: "card", "data-testid": "dead-letter", "data-seq": d.seq },
        el("h3", {}, "#" + d.seq + " · " + (j.rule || "?") + " · action " + ((j.action ?? -1) + 1) + " (" + (j.kind || r.kind || "?") + ")"),
        dl([
          ["Failed at", fmtTime(d.at)],
          ["Event", [ev.source, " ", ev.event, " ", el("span", { class: "mono" }, ev.id)]],
          ["Attempts", String(d.attempts)],
          r.target ? ["Target", el("span", { class: "mono wrap" }, r.target)] : null,
        ]),
        el("p", { class: "error-text", "data-testid": "dead-letter-error" }, d.error),
        el("details", {}, el("summary", {}, "Rendered request"), el("pre", { class: "json" }, pretty(r))),
        el("details", {}, el("summary", {}, "Event"), el("pre", { class: "json" }, pretty(ev))),
        el("div", { class: "buttons" }, replay, drop));
    }

    const view = {
      title: "Dead letters",
      render() {
        return [
          el("h2", { tabindex: "-1" }, "Dead letters ", count),
          el("p", { class: "muted" }, "Deliveries that failed for good or ran out of attempts. Replay puts the job back in the queue with a fresh attempt count."),
          filterForm("dl-filter", [
            labelled("Rule", select("dl-rule", "rule", "All rules", [], filter.rule || "")),
            labelled("Kind", select("dl-kind", "kind", "All kinds", KINDS, filter.kind || "")),
            labelled("Source", select("dl-source", "source", "All sources", [], filter.source || "")),
            labelled("Since", el("input", { id: "dl-since", name: "since", type: "text", placeholder: "1h or 2024-05-01T00:00:00Z", value: filter.since || "", spellcheck: "false" })),
            labelled("Until", el("input", { id: "dl-until", name: "until", type: "text", placeholder: "RFC 3339 time", value: filter.until || "", spellcheck: "false" })),
          ], params, "#/dead-letters"),
          el("div", { class: "buttons" }, replayAll, dropAll),
          message,
          error,
          list,
          empty,
        ];
      },
      async refresh() {
        fillFilters(view, params, (m) => [["dl-rule", "All rules", ruleNames(m)], ["dl-source", "All sources", sourceNames(m)]]);
        const res = await api("GET", "api/dead-letters" + query({ ...filter, limit: 100 }));
        if (!view.live()) return;
        showMessage(error, "");
        const items = (res && res.dead_letters) || [];
        shown = items.length;
        setText(count, "(" + items.length + (items.length === 100 ? "+" : "") + ")");
        // Dead letters never change: keep the cards that are still there (with
        // their open details and pending confirmations) and add the new ones.
        const have = new Map([...list.children].map((li) => [li.dataset.seq, li]));
        const want = items.map((d) => have.get(String(d.seq)) || card(d));
        for (const [s, li] of have) if (!items.some((d) => String(d.seq) === s)) li.remove();
        want.forEach((li, i) => {
          if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
        });
        replayAll.disabled = dropAll.disabled = items.length === 0;
        showMessage(empty, items.length ? "" : "No dead letters" + (Object.values(filter).some(Boolean) ? " match these filters." : "."));
      },
      fail(e) {
        showMessage(error, e.message);
      },
    };
    return view;
  }

  function rulesView() {
    const error = el("p", { id: "rules-error", class: "error", role: "alert", hidden: true });
    const summary = el("div", { id: "rules-summary" });
    const sources = el("tbody", { id: "sources-body" });
    const rules = el("tbody", { id: "rules-body" });
    const result = el("div", { id: "reload-result", role: "status" });
    const reload = el("button", { type: "button", id: "reload-button" }, "Reload rules file");
    reload.addEventListener("click", async () => {
      reload.disabled = true;
      fill(result, el("p", { class: "muted" }, "Reloading…"));
      try {
        const res = await api("POST", "-/reload");
        fill(result, el("p", { class: "ok", id: "reload-ok" }, "Reloaded: " + res.rules + " rule" + (res.rules === 1 ? "" : "s") + ", hash " + String(res.hash || "").slice(0, 12) + "."));
      } catch (e) {
        fill(result, 
          el("p", { class: "error" }, "Reload failed; the rules in force are unchanged:"),
          el("pre", { class: "error-text", id: "reload-error" }, e.message));
      }
      reload.disabled = false;
      meta(true).catch(() => {});
      if (view.live()) view.refresh().catch((e) => view.fail(e));
    });

    const view = {
      title: "Rules",
      render() {
        return [
          el("h2", { tabindex: "-1" }, "Rules"),
          el("div", { class: "buttons" }, reload),
          result,
          error,
          summary,
          el("h3", {}, "Sources"),
          table("sources-table", "", SOURCE_COLS, sources),
          el("h3", {}, "Rules"),
          el("p", { class: "muted" }, "Matches and condition errors are counted since the process started."),
          table("rules-table", "", RULE_COLS, rules),
        ];
      },
      async refresh() {
        const m = await meta(true);
        if (!view.live()) return;
        showMessage(error, "");
        const lr = m.last_reload || {};
        replaceIfChanged(summary, [m.path, m.hash, m.loaded_at, lr], () => dl([
          ["File", el("span", { class: "mono wrap" }, m.path)],
          ["Hash", el("span", { class: "mono clip", title: m.hash }, m.hash)],
          ["Loaded", fmtTime(m.loaded_at)],
          ["Last reload", el("div", { id: "last-reload" },
            lr.ok === false ? el("span", { class: "badge outcome-dead" }, "failed") : el("span", { class: "badge outcome-delivered" }, "ok"),
            " ", fmtTime(lr.at),
            lr.error ? el("pre", { class: "error-text", id: "last-reload-error" }, lr.error) : null)],
        ]));
        const ss = m.sources || [];
        replaceIfChanged(sources, ss, () => ss.map((s) =>
          row({ "data-testid": "source-row", "data-source": s.name }, SOURCE_COLS, s.name, s.vendor, el("td", { class: "mono" }, s.url_path))));
        const rs = m.rules || [];
        replaceIfChanged(rules, rs, () => rs.map((r) =>
          row({ "data-testid": "rule-row", "data-rule": r.name }, RULE_COLS,
            el("td", {}, el("a", { href: "#/events" + query({ rule: r.name }), title: "Events that matched " + r.name }, r.name)),
            el("td", {}, r.sources && r.sources.length ? r.sources.join(", ") : el("span", { class: "muted" }, "all")),
            el("td", {}, el("code", { class: "wrap" }, r.when || "")),
            el("td", {}, el("ol", { class: "plain" }, (r.actions || []).map((a) => el("li", {}, el("strong", {}, a.kind), " ", el("span", { class: "mono wrap" }, a.target || ""))))),
            el("td", { class: "num", "data-testid": "rule-matches" }, r.matches),
            el("td", { class: "num", "data-testid": "rule-errors" }, r.errors))));
      },
      fail(e) {
        showMessage(error, e.message);
      },
    };
    return view;
  }

  // The try form keeps what was typed while the operator looks elsewhere.
  const tryState = { source: "", headers: "", query: "", payload: "" };

  function tryView() {
    const sourceSel = el("select", { id: "try-source", name: "source", required: true });
    const headers = el("textarea", { id: "try-headers", name: "headers", rows: "3", spellcheck: "false", placeholder: "Signature: 9f86d08…\nOne header per line" });
    const q = el("input", { id: "try-query", name: "query", type: "text", spellcheck: "false", placeholder: "key=…" });
    const payload = el("textarea", { id: "try-payload", name: "payload", rows: "12", spellcheck: "false", required: true, placeholder: '{"id": "…", "event": "vote.created", "data": {…}}' });
    headers.value = tryState.headers;
    q.value = tryState.query;
    payload.value = tryState.payload;
    const error = el("p", { id: "try-error", class: "error", role: "alert", hidden: true });
    const result = el("section", { id: "try-result", hidden: true, "aria-live": "polite", "aria-labelledby": "try-result-title" });
    const run = el("button", { type: "submit", id: "try-run" }, "Run");
    const form = el("form", { id: "try-form", class: "stack" },
      labelled("Source", sourceSel),
      labelled("Headers (Name: value, one per line)", headers),
      labelled("Query string", q),
      labelled("Payload (JSON, exactly as the vendor sends it)", payload),
      el("div", { class: "buttons" }, run));
    form.addEventListener("input", () => {
      Object.assign(tryState, { source: sourceSel.value, headers: headers.value, query: q.value, payload: payload.value });
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showMessage(error, "");
      const hdrs = {};
      const lines = headers.value.split(/\r?\n/);
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i].trim();
        if (!line) continue;
        const at = line.indexOf(":");
        if (at <= 0) {
          showMessage(error, "Headers line " + (i + 1) + ": expected Name: value.");
          return;
        }
        hdrs[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      try {
        JSON.parse(payload.value);
      } catch (e) {
        showMessage(error, "The payload is not JSON: " + e.message);
        return;
      }
      run.disabled = true;
      try {
        // The payload goes as the string typed, not re-encoded: signatures
        // are computed over the exact bytes.
        const res = await api("POST", "api/test", { source: sourceSel.value, headers: hdrs, query: q.value.replace(/^\?/, ""), payload: payload.value });
        if (view.live()) showResult(res);
      } catch (e) {
        showMessage(error, e.message);
        result.hidden = true;
      } finally {
        run.disabled = false;
      }
    });

    function showResult(res) {
      const verified = res.verified
        ? el("p", { id: "try-verified", class: "ok", "data-verified": "true" }, "✓ Verified: " + res.source + " would accept this request.")
        : el("p", { id: "try-verified", class: "error", "data-verified": "false" }, "✗ Not verified: " + (res.verify_error || "refused") + ". A real delivery would get 401; the rules below were still tried.");
      const rules = res.rules || [];
      fill(result, 
        el("h3", { id: "try-result-title" }, "Result"),
        verified,
        res.envelope_error ? el("p", { id: "try-envelope", class: "error" }, "Envelope: " + res.envelope_error) : null,
        el("h4", {}, "Rules"),
        rules.length === 0 ? el("p", { class: "muted" }, "No rules were evaluated.") : null,
        el("ol", { id: "try-rules", class: "cards" }, rules.map((r) =>
          el("li", { class: "card " + (r.matched ? "matched" : "unmatched"), "data-testid": "try-rule", "data-rule": r.name, "data-matched": String(Boolean(r.matched)) },
            el("p", {}, el("strong", {}, r.name), " ", r.matched ? el("span", { class: "badge outcome-delivered" }, "matched") : el("span", { class: "badge outcome-other" }, "not matched")),
            r.reason ? el("p", { class: "muted wrap" }, r.reason) : null,
            (r.actions || []).length ? el("ol", { class: "plain" }, r.actions.map((a) => {
              const rd = a.rendered || {};
              return el("li", { "data-testid": "try-action" },
                el("p", {}, el("strong", {}, a.kind), " → ", el("span", { class: "mono wrap", "data-testid": "try-target" }, rd.target || "")),
                a.error ? el("p", { class: "error-text" }, a.error) : null,
                rd.fields ? el("pre", { class: "json" }, pretty(rd.fields)) : null);
            })) : null))),
        el("h4", {}, "Normalized event"),
        el("pre", { id: "try-event", class: "json", tabindex: "0" }, res.event ? pretty(res.event) : "(none: the payload could not be normalized)"));
      result.hidden = false;
    }

    const view = {
      title: "Try an event",
      render() {
        return [
          el("h2", { tabindex: "-1" }, "Try an event"),
          el("p", { class: "muted" }, "Runs the dry run of switchyard test on the server against the rules in force: verification, the normalized event, each rule matched or not and why, each action rendered with secrets shown as ${VAR}. Nothing is stored or sent."),
          form,
          error,
          result,
        ];
      },
      manual: true, // no auto-refresh: it would run the dry run again
      async refresh() {
        const m = await meta();
        if (!view.live()) return;
        const names = sourceNames(m);
        const cur = tryState.source && names.includes(tryState.source) ? tryState.source : names[0] || "";
        fill(sourceSel, names.map((n) => el("option", { value: n }, n)));
        sourceSel.value = cur;
        tryState.source = cur;
      },
      fail(e) {
        showMessage(error, e.message);
      },
    };
    return view;
  }

  // ---------------------------------------------------------------- router

  let current = null;
  let generation = 0;

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function parseHash() {
    const h = location.hash.replace(/^#\/?/, "");
    const at = h.indexOf("?");
    const path = (at < 0 ? h : h.slice(0, at)).split("/").filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch (e) {
        return p;
      }
    });
    return { path, params: new URLSearchParams(at < 0 ? "" : h.slice(at + 1)) };
  }

  function viewFor(path, params) {
    switch (path[0] || "events") {
      case "events":
        return path[1] ? eventDetailView(path[1]) : eventsView(params);
      case "dead-letters":
        return deadLettersView(params);
      case "rules":
        return rulesView();
      case "try":
        return tryView();
      default:
        return null;
    }
  }

  function route() {
    const { path, params } = parseHash();
    const gen = ++generation;
    const main = $("main");
    const view = viewFor(path, params);
    const name = path[0] || "events";
    for (const a of document.querySelectorAll("nav a[data-view]")) {
      if (a.dataset.view === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    if (!view) {
      fill(main, el("h2", {}, "Not found"), el("p", {}, el("a", { href: "#/events" }, "Recent events")));
      current = null;
      return;
    }
    view.live = () => gen === generation;
    current = view;
    document.title = view.title + " · Switchyard";
    fill(main, view.render());
    const h = main.querySelector("h2");
    if (h && document.activeElement !== $("token-input")) h.focus({ preventScroll: true });
    tick(true);
  }

  async function tick(force) {
    const view = current;
    if (!view || view.busy) return;
    if (!force && (view.manual || !$("auto-refresh").checked || document.visibilityState !== "visible")) return;
    view.busy = true;
    try {
      await view.refresh();
      if (view.live()) setText($("status"), "Updated " + new Date().toLocaleTimeString());
    } catch (e) {
      if (view.live()) view.fail(e);
      setText($("status"), "Last refresh failed: " + e.message);
    } finally {
      view.busy = false;
    }
  }

  function start() {
    window.addEventListener("hashchange", route);
    $("token-form").addEventListener("submit", onTokenSubmit);
    $("forget-token").hidden = !sessionStorage.getItem(TOKEN_KEY);
    $("forget-token").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      $("forget-token").hidden = true;
      setText($("status"), "Token forgotten.");
    });
    $("auto-refresh").addEventListener("change", () => tick(true));
    setInterval(() => tick(false), REFRESH_MS);
    if (!location.hash) history.replaceState(null, "", "#/events");
    route();
  }

  start();
})();
