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

  // svg builds an SVG element: every attribute set as given (the chart's
  // geometry), children as el's. No style: the stylesheet colours it.
  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) e.setAttribute(k, String(v));
    }
    append(e, children);
    return e;
  }

  // Tables: the header names label each cell too, so that a narrow window
  // can show each row as a small card (see style.css).
  const EVENT_COLS = ["#", "Matched at", "Source", "Event", "ID", "Rules matched", "Deliveries"];
  const DELIVERY_COLS = ["At", "Rule", "Action", "Attempt", "Outcome", "Latency", "Error"];
  const SOURCE_COLS = ["Name", "Vendor", "URL path"];
  const RULE_COLS = ["Name", "Sources", "When", "Actions", "Matches", "Errors", "Last 24 hours"];
  const PREVIEW_COLS = ["Rule", "Change", "Matches now → candidate", "Condition errors"];
  const MUTE_COLS = ["Rule", "Condition", "Comment", "Ends", "Mute", "Action"];
  const GROUP_COLS = ["Rule", "Key", "Events", "First event", "Fires", "State"];

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
  // The same text again leaves the node alone: rewriting it would make a
  // screen reader read an alert out again on every refresh.
  function showMessage(node, text) {
    const t = text === null || text === undefined ? "" : String(text);
    if (node.textContent !== t) node.textContent = t;
    node.hidden = !t;
  }

  // announce says what a refresh changed through the page's polite live
  // region. Only changes go there: a refresh that changed nothing says
  // nothing, rather than "Updated …" every few seconds.
  function announce(text) {
    if (text) setText($("status"), text);
  }

  const plural = (n, one, many) => n + " " + (n === 1 ? one : many || one + "s");

  // Focus survives a refresh. keepFocus runs change, which may rebuild
  // part of container; if the keyboard focus was inside and is lost, it
  // goes back to the same control: the one at the same place among the
  // focusable elements of the row with the same data-key (or of the
  // container, if the control is in no row). A row that is gone hands the
  // focus to main, not to the document's body.
  const FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";
  function keepFocus(container, change) {
    const had = document.activeElement;
    if (!had || had === document.body || !container.contains(had)) {
      change();
      return;
    }
    const keyed = had.closest("[data-key]");
    const row = keyed && container.contains(keyed) ? keyed : null;
    const key = row ? row.dataset.key : null;
    const index = [...(row || container).querySelectorAll(FOCUSABLE)].indexOf(had);
    change();
    if (had.isConnected && document.activeElement === had) return;
    const scope = key === null ? container : [...container.querySelectorAll("[data-key]")].find((r) => r.dataset.key === key);
    const target = scope && scope.querySelectorAll(FOCUSABLE)[index];
    (target || $("main")).focus({ preventScroll: true });
  }

  // replaceIfChanged swaps a container's children only when the data they
  // show changed, so a refresh does not reset selections or scroll.
  const rendered = new WeakMap(); // node -> JSON of the data it shows
  function replaceIfChanged(node, data, build) {
    const key = JSON.stringify(data);
    if (rendered.get(node) === key) return;
    rendered.set(node, key);
    keepFocus(node, () => fill(node, build()));
  }

  // syncChildren makes a container's children show items, one child per
  // item, keyed by keyOf: a child whose item did not change stays as it
  // is (with its focus, open details and pending confirmations), a changed
  // one is rebuilt, new ones are inserted where they belong. In a list that
  // grows at the top, nothing that stays is moved.
  const children = new WeakMap(); // container -> Map(key -> {json, node})
  function syncChildren(container, items, keyOf, build) {
    const had = children.get(container) || new Map();
    const now = new Map();
    const nodes = items.map((item) => {
      const key = String(keyOf(item));
      const json = JSON.stringify(item);
      const old = had.get(key);
      const node = old && old.json === json ? old.node : build(item);
      node.dataset.key = key;
      now.set(key, { json, node });
      return node;
    });
    keepFocus(container, () => {
      for (const [key, { node }] of had) {
        if (!now.has(key) || now.get(key).node !== node) node.remove();
      }
      nodes.forEach((node, i) => {
        if (container.children[i] !== node) container.insertBefore(node, container.children[i] || null);
      });
    });
    children.set(container, now);
  }

  const zeroTime = (iso) => !iso || iso.startsWith("0001-01-01");

  function fmtTime(iso) {
    if (zeroTime(iso)) return el("span", { class: "muted" }, "—");
    const d = new Date(iso);
    if (isNaN(d)) return el("span", {}, iso);
    return el("time", { datetime: iso, title: iso }, d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" }));
  }

  // fmtAt is a time of day (with the date), short: "01/05/2026, 14:05".
  function fmtAt(iso) {
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
  }

  // fmtIn says how long until a time: "in 1h 12m", "in 3d 4h", "in 40s";
  // past (default "ending now") once it has come. It rounds up, so that a
  // mute of 2h just added ends "in 2h".
  function fmtIn(iso, now, past) {
    const ms = new Date(iso) - now;
    if (isNaN(ms)) return "";
    if (ms <= 0) return past || "ending now";
    if (ms < 60000) return "in " + Math.ceil(ms / 1000) + "s";
    const m = Math.ceil(ms / 60000);
    const [d, h, min] = [Math.floor(m / 1440), Math.floor((m % 1440) / 60), m % 60];
    const parts = d ? [d + "d", h && h + "h"] : h ? [h + "h", min && min + "m"] : [min + "m"];
    return "in " + parts.filter(Boolean).join(" ");
  }

  function fmtMS(ms) {
    if (typeof ms !== "number") return "";
    if (ms >= 1000) return (ms / 1000).toFixed(2) + " s";
    return ms.toFixed(ms < 10 && !Number.isInteger(ms) ? 2 : 0) + " ms";
  }

  function pretty(v) {
    return JSON.stringify(v, null, 2);
  }

  function badge(outcome) {
    const known = ["delivered", "retrying", "dead"].includes(outcome) ? outcome : "other";
    return el("span", { class: "badge outcome-" + known, "data-testid": "outcome" }, outcome || "?");
  }

  // chips lists names; extra(name), if given, adds to a name's chip.
  function chips(names, hrefFor, extra) {
    if (!names || names.length === 0) return el("span", { class: "muted" }, "none");
    return el("ul", { class: "chips" }, names.map((n) => el("li", {}, hrefFor ? el("a", { href: hrefFor(n) }, n) : n, extra ? extra(n) : null)));
  }

  // A matched rule's firing may have been held back (muted; throttled):
  // the event's record says by what, until when and why.
  const heldOf = (r, rule) => (r.held || []).find((h) => h.rule === rule);

  // heldBadge marks a held rule in a list of matched rules: how it was
  // held, with the reason as its title and, for screen readers, as text.
  function heldBadge(h) {
    if (!h) return null;
    return [" ", el("span", { class: "badge held", "data-testid": "held", "data-how": h.how, "data-by": h.by, title: h.reason },
      h.how, el("span", { class: "sr-only" }, ": " + h.reason))];
  }

  // heldItem is a held firing in full, for the event's detail: what held
  // it, linked where the page shows that, and until when.
  function heldItem(h) {
    let what;
    switch (h.how) {
      case "muted":
        what = ["Mute ", el("a", { href: "#/mutes", class: "mono" }, h.by), " · held until ", fmtTime(h.until)];
        break;
      case "grouped":
        what = ["Waits in a ", el("a", { href: "#/groups" }, "pending group"), " · fires with it at ", fmtTime(h.until)];
        break;
      case "throttled":
        what = ["Counted, not delivered and not retried · the throttle's window ends ", fmtTime(h.until)];
        break;
      default:
        what = [h.by ? ["By ", h.by, " · "] : null, "held until ", fmtTime(h.until)];
    }
    return el("li", { "data-testid": "held-reason", "data-rule": h.rule, "data-by": h.by, "data-how": h.how },
      el("strong", {}, h.rule), " ", el("span", { class: "badge held" }, h.how), " ",
      el("span", { class: "wrap" }, h.reason),
      el("div", { class: "muted" }, what));
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

  // twoStep makes a button ask for a second click before it acts. The
  // first click calls ask, which may read the API (to count what the act
  // would touch) and returns the plan: {question, ...}, or null when there
  // is nothing to ask. The button shows the question for a few seconds; a
  // second click then calls act with the plan.
  function twoStep(button, ask, act) {
    const label = button.textContent;
    let timer = null;
    let plan = null;
    let asking = false;
    button.addEventListener("click", async () => {
      if (plan) {
        const p = plan;
        reset();
        act(p);
        return;
      }
      if (asking) return;
      asking = true;
      button.setAttribute("aria-busy", "true");
      try {
        plan = await ask();
      } finally {
        asking = false;
        button.removeAttribute("aria-busy");
      }
      if (!plan) return;
      button.classList.add("confirming");
      setText(button, plan.question);
      timer = setTimeout(reset, 8000);
    });
    function reset() {
      clearTimeout(timer);
      plan = null;
      button.classList.remove("confirming");
      setText(button, label);
    }
  }

  // renderedActions lists actions as the dry run and the preview render
  // them: kind, target, error, and each field (text, headers, body…) as
  // it would be sent, a JSON body indented; secrets appear as ${VAR}.
  function renderedActions(actions) {
    if (!actions || actions.length === 0) return null;
    return el("ol", { class: "plain" }, actions.map((a) => {
      const rd = a.rendered || {};
      // A field the target already shows (an http action's method and URL,
      // a Slack channel) is not repeated.
      const shown = String(rd.target || "").split(" ");
      const fields = Object.entries(rd.fields || {}).filter(([, v]) => v !== "" && !shown.includes(v));
      return el("li", { "data-testid": "action" },
        el("p", {}, el("strong", {}, a.kind), " → ", el("span", { class: "mono wrap", "data-testid": "action-target" }, rd.target || "")),
        a.error ? el("p", { class: "error-text" }, a.error) : null,
        fields.length ? dl(fields.map(([k, v]) => [k, el("pre", { class: "json" }, indentJSON(v))])) : null);
    }));
  }

  // indentJSON indents text that is a JSON object or array, and leaves
  // anything else as it is.
  function indentJSON(text) {
    const s = String(text);
    if (!/^\s*[[{]/.test(s)) return s;
    try {
      return pretty(JSON.parse(s));
    } catch (e) {
      return s;
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

  // checkRules reads /api/rules again (one read at a time) on every
  // refresh, whatever the tab, and shows the reload banner while the last
  // reload failed. A view's own meta() then gets this fresh answer.
  let rulesRead = null;
  function checkRules() {
    if (!rulesRead) {
      rulesRead = meta(true).then(showReloadBanner, () => {}).finally(() => {
        rulesRead = null;
      });
    }
  }

  function showReloadBanner(m) {
    const lr = m.last_reload || {};
    const banner = $("reload-banner");
    const failed = lr.ok === false;
    replaceIfChanged(banner, failed ? [lr.at, lr.error, m.loaded_at] : null, () => failed ? [
      el("p", {}, el("strong", {}, "The last reload of the rules file failed"), " (", fmtTime(lr.at), "). ",
        "The rules in force are still those loaded ", fmtTime(m.loaded_at), ". Fix the file and reload: ",
        el("a", { href: "#/rules" }, "Rules"), "."),
      el("pre", { class: "error-text", id: "reload-banner-error" }, lr.error || "")] : []);
    banner.hidden = !failed;
  }

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

  // fillFilters sets the menus of a filter form once /api/rules answers,
  // in place, so that a menu that has the focus keeps it.
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
      const menu = $(id);
      const filled = select(id, menu.name, blank, values, menu.value || params.get(menu.name) || "");
      menu.replaceChildren(...filled.children);
      menu.value = filled.value;
    }
  }

  function eventsView(params) {
    const body = el("tbody", { id: "events-body" });
    const error = el("p", { id: "events-error", class: "error", role: "alert", hidden: true });
    const empty = el("p", { id: "events-empty", class: "muted", hidden: true });
    const older = el("a", { id: "events-older", class: "button secondary", hidden: true }, "Older events");
    const newest = el("a", { id: "events-newest", class: "button secondary", href: "#/events" + query({ source: params.get("source"), event: params.get("event"), rule: params.get("rule") }), hidden: !params.get("before") }, "Newest events");
    let seen = null; // seq -> deliveries dead, as of the last refresh (null before the first)
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
          replayEventsPanel(),
          error,
          table("events-table", "Events, newest first", EVENT_COLS, body),
          empty,
          el("div", { class: "pager" }, newest, older),
        ];
      },
      async refresh() {
        fillFilters(view, params, (m) => [["filter-source", "All sources", sourceNames(m)], ["filter-rule", "Any or none", ruleNames(m)], ["replay-rule", "Every rule", ruleNames(m)]]);
        const res = await api("GET", "api/events" + query({ source: params.get("source"), event: params.get("event"), rule: params.get("rule"), before: params.get("before"), limit: 50 }));
        if (!view.live()) return "";
        const events = (res && res.events) || [];
        const states = await deliveryStates(events, params);
        if (!view.live()) return "";
        showMessage(error, "");
        const rows = events.map((r) => ({ r, d: deliveriesOf(r, states) }));
        syncChildren(body, rows, (x) => x.r.seq, eventRow);
        showMessage(empty, events.length ? "" : params.toString() ? "No events match these filters." : "No events yet. Events appear here once a source delivers one and it has been matched.");
        const next = res && res.next_before;
        older.hidden = !next;
        if (next) {
          const p = new URLSearchParams(params);
          p.set("before", next);
          older.setAttribute("href", "#/events?" + p.toString());
        }
        // What changed since the last refresh: events that arrived, and
        // deliveries that failed for good.
        const said = [];
        if (seen) {
          const top = Math.max(0, ...seen.keys());
          const fresh = rows.filter((x) => x.r.seq > top).map((x) => "#" + x.r.seq);
          if (fresh.length) said.push(plural(fresh.length, "new event") + " (" + fresh.join(", ") + ")");
          for (const { r, d } of rows) {
            const before = seen.has(r.seq) ? seen.get(r.seq) : 0;
            if (d && d.dead > before) said.push("event #" + r.seq + ": " + plural(d.dead - before, "delivery", "deliveries") + " failed for good");
          }
        }
        seen = new Map(rows.map(({ r, d }) => [r.seq, d ? d.dead : 0]));
        return said.join("; ");
      },
      fail(e) {
        showMessage(error, e.message);
      },
    };
    return view;
  }

  // How the deliveries of the listed events went. The delivery log is read
  // newest first, in pages, down to the oldest listed event that made
  // deliveries (a delivery is logged after its event's match record, so
  // nothing older can be about it): one to a few reads per refresh, however
  // many events are listed. The newest record of a job is its state.
  const DELIVERY_PAGE = 200;
  const DELIVERY_PAGES = 5;
  async function deliveryStates(events, params) {
    const states = { jobs: new Map(), readDownTo: 0 }; // event key -> Map(job id -> outcome)
    const withJobs = events.filter((r) => r.jobs > 0);
    if (withJobs.length === 0) return states;
    const oldest = Math.min(...withJobs.map((r) => r.seq));
    let before = 0;
    for (let page = 0; page < DELIVERY_PAGES; page++) {
      const res = await api("GET", "api/deliveries" + query({ source: params.get("source"), event: params.get("event"), before: before || null, limit: DELIVERY_PAGE }));
      for (const d of (res && res.deliveries) || []) {
        if (d.seq < oldest) return states;
        let jobs = states.jobs.get(d.event_key);
        if (!jobs) states.jobs.set(d.event_key, (jobs = new Map()));
        if (!jobs.has(d.job_id)) jobs.set(d.job_id, d.outcome);
      }
      before = res && res.next_before;
      if (!before || before <= oldest) return states;
    }
    states.readDownTo = before; // events below this were not covered
    return states;
  }

  // deliveriesOf counts an event's deliveries by state: null when it made
  // none, {unread: true} when the log was not read that far back.
  function deliveriesOf(r, states) {
    if (!r.jobs) return null;
    if (states.readDownTo && r.seq < states.readDownTo) return { unread: true, dead: 0 };
    const jobs = states.jobs.get(r.key) || new Map();
    const d = { dead: 0, retrying: 0, queued: 0, delivered: 0 };
    for (const outcome of jobs.values()) {
      if (outcome in d) d[outcome]++;
    }
    d.queued = Math.max(0, r.jobs - jobs.size);
    return d;
  }

  const DELIVERY_STATES = [
    ["dead", "outcome-dead", "failed for good: see Dead letters"],
    ["retrying", "outcome-retrying", "failed, will be tried again"],
    ["queued", "outcome-other", "not tried yet"],
    ["delivered", "outcome-delivered", "delivered"],
  ];

  function deliveriesCell(r, d) {
    const attrs = { "data-testid": "event-deliveries", title: plural(r.jobs, "delivery", "deliveries") + " created" };
    if (!d) return el("td", attrs, el("span", { class: "muted" }, "none"));
    if (d.unread) return el("td", attrs, el("span", { class: "muted", title: "The delivery log was not read back this far; open the event to see its deliveries." }, r.jobs + " (not read)"));
    const parts = DELIVERY_STATES.filter(([k]) => d[k] > 0).map(([k, cls, meaning]) => el("span", { class: "badge " + cls, title: meaning, ["data-" + k]: d[k] }, d[k] + " " + k));
    return el("td", attrs, parts.map((p, i) => (i ? [" ", p] : p)));
  }

  function eventRow({ r, d }) {
    const errs = r.errors || [];
    return row({ "data-testid": "event-row", "data-seq": r.seq }, EVENT_COLS,
      el("td", {}, el("a", { href: "#/events/" + encodeURIComponent(r.seq), "aria-label": "Event " + r.seq + " details" }, "#" + r.seq)),
      el("td", {}, fmtTime(r.at)),
      el("td", {}, r.source),
      el("td", {}, el("a", { href: "#/events/" + encodeURIComponent(r.seq) }, r.event)),
      el("td", { class: "mono clip", title: r.id }, r.id),
      el("td", { "data-testid": "event-rules" }, chips(r.rules, null, (n) => heldBadge(heldOf(r, n))),
        errs.length ? el("span", { class: "badge outcome-dead", title: errs.map((x) => x.rule + ": " + x.error).join("\n") }, errs.length + " condition error" + (errs.length > 1 ? "s" : "")) : null),
      deliveriesCell(r, d));
  }

  // replayEventsPanel re-runs stored events through the rules in force
  // (POST /api/events/replay), after a confirmation that says what it does.
  function replayEventsPanel() {
    const since = el("input", { id: "replay-since", name: "replay_since", type: "text", value: "1h", placeholder: "1h or 2024-05-01T00:00:00Z", spellcheck: "false", required: true });
    const ruleMenu = select("replay-rule", "replay_rule", "Every rule", [], ""); // filled by the view's fillFilters
    const run = el("button", { type: "button", id: "replay-events-run" }, "Replay events");
    const result = el("div", { id: "replay-events-result", role: "status" });
    twoStep(run, () => {
      const s = since.value.trim();
      if (!s) {
        fill(result, el("p", { class: "error" }, "Say since when: a duration such as 1h, or an RFC 3339 time."));
        return null;
      }
      const rule = ruleMenu.value;
      return { since: s, rule, question: "Replay events since " + s + " through " + (rule || "every rule") + "? Click again" };
    }, async (p) => {
      fill(result, el("p", { class: "muted" }, "Replaying…"));
      try {
        const res = await api("POST", "api/events/replay" + query({ since: p.since, rule: p.rule }));
        fill(result, replaySummary(res, p));
      } catch (e) {
        fill(result, el("p", { class: "error", id: "replay-events-error" }, e.message));
      }
    });
    const num = (n, testid) => el("span", { class: "num", "data-testid": testid }, String(n));
    function replaySummary(res, p) {
      return [
        el("p", { class: "ok" }, "Replayed the events received since " + p.since + " through " + (p.rule || "every rule") + "."),
        dl([
          ["Events read", [num(res.scanned, "replay-scanned"), " in " + fmtMS(res.took_ms),
            res.partial ? el("strong", { class: "warn-text" }, " — stopped at the bound: older events in the window were not read") : null]],
          ["Deliveries the rules call for", num(res.planned, "replay-planned")],
          ["Already made", num(res.already_delivered, "replay-already")],
          ["Waiting, or dead letters", num(res.pending, "replay-pending")],
          ["Queued now", num(res.stored, "replay-stored")],
        ]),
      ];
    }
    return el("details", { id: "replay-events", class: "box" },
      el("summary", {}, "Replay stored events"),
      el("p", {}, "Runs the events received since a time through the rules in force now, and queues the deliveries they call for that were never made. ",
        el("strong", {}, "Deliveries already made are not made again"), ", nor are those still waiting or parked as dead letters (replay those from Dead letters). ",
        "Use it after the store lost jobs, or after adding or fixing a rule that missed events."),
      el("div", { class: "row" },
        labelled("Received since", since),
        labelled("Rule", ruleMenu),
        el("div", { class: "field buttons" }, run)),
      result);
  }

  function eventDetailView(seq) {
    const error = el("p", { id: "event-error", class: "error", role: "alert", hidden: true });
    const summary = el("div", { id: "event-summary" });
    const deliveries = el("tbody", { id: "deliveries-body" });
    const noDeliveries = el("p", { id: "deliveries-empty", class: "muted", hidden: true }, "No delivery recorded for this event (yet).");
    const json = el("pre", { id: "event-json", class: "json", tabindex: "0" });
    let attempts = null; // delivery seqs shown, as of the last refresh
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
          ["Rules matched", el("div", { id: "event-rules" }, chips(r.rules, (n) => "#/events" + query({ rule: n }), (n) => heldBadge(heldOf(r, n))))],
          (r.held || []).length ? ["Held back", el("ul", { id: "event-held", class: "plain" }, r.held.map(heldItem))] : null,
          (r.errors || []).length ? ["Condition errors", el("ul", { id: "event-rule-errors", class: "plain" }, r.errors.map((x) => el("li", {}, el("strong", {}, x.rule), ": ", el("span", { class: "error-text" }, x.error))))] : null,
          ["Deliveries created", String(r.jobs)],
        ]));
        const ds = res.deliveries || [];
        syncChildren(deliveries, ds, (d) => d.seq, deliveryRow);
        noDeliveries.hidden = ds.length > 0;
        const text = res.event ? pretty(res.event) : "(not stored)";
        if (json.textContent !== text) json.textContent = text;
        const fresh = attempts ? ds.filter((d) => !attempts.has(d.seq)) : [];
        attempts = new Set(ds.map((d) => d.seq));
        return fresh.length ? plural(fresh.length, "new delivery attempt") + ": " + fresh.map((d) => d.rule + " " + d.outcome).join(", ") : "";
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

  // The dead letters list shows the newest LIST_LIMIT; a bulk action is
  // counted with one read of up to COUNT_LIMIT (the admin API's largest
  // page, on which its bulk endpoints act).
  const LIST_LIMIT = 100;
  const COUNT_LIMIT = 1000;

  function deadLettersView(params) {
    const error = el("p", { id: "dl-error", class: "error", role: "alert", hidden: true });
    const message = el("p", { id: "dl-message", class: "notice-line", role: "status", hidden: true });
    const list = el("ol", { id: "dead-letters-list", class: "cards" });
    const empty = el("p", { id: "dl-empty", class: "muted", hidden: true });
    const count = el("span", { id: "dl-count", class: "muted" });
    const filter = { rule: params.get("rule"), kind: params.get("kind"), source: params.get("source"), since: params.get("since"), until: params.get("until") };
    let shown = []; // the dead letters listed, newest first
    let more = false; // the list stopped at its limit: more may match
    let seen = null; // seqs listed at the last refresh

    // bulkPlan counts what a bulk replay or drop would act on, so that the
    // question gives the number. The list shows the newest LIST_LIMIT; past
    // that, one read of up to COUNT_LIMIT counts them (the bulk endpoints
    // act on at most one such read). The plan pins the selection with
    // before= to the newest one counted, so dead letters that fail between
    // the question and the answer are not swept in unasked.
    async function bulkPlan(verb, forGood) {
      showMessage(message, "");
      showMessage(error, "");
      let list = shown;
      let beyond = false;
      if (more) {
        try {
          const res = await api("GET", "api/dead-letters" + query({ ...filter, limit: COUNT_LIMIT }));
          list = (res && res.dead_letters) || [];
          beyond = Boolean(res && res.next_before) && list.length >= COUNT_LIMIT;
        } catch (e) {
          showMessage(error, e.message);
          return null;
        }
      }
      if (list.length === 0) {
        showMessage(message, "Nothing to " + verb.toLowerCase() + ".");
        return null;
      }
      const n = list.length;
      const before = Math.max(...list.map((d) => d.seq)) + 1;
      let what = "the " + plural(n, "dead letter") + " listed";
      if (more) what = beyond ? "the newest " + n + " matching dead letters (more match: run it again for the rest)" : "all " + n + " matching dead letters";
      return { question: verb + " " + what + (forGood ? " for good" : "") + "? Click again", path: query({ ...filter, before, all: "true" }) };
    }

    async function act(method, path, verb, noun) {
      showMessage(message, "");
      showMessage(error, "");
      try {
        const res = await api(method, path);
        const done = res.replayed || res.dropped || [];
        const failed = res.failed || [];
        const seqs = (list) => (list.length <= 10 ? list.map((s) => "#" + s).join(", ") : plural(list.length, "dead letter") + ", #" + Math.min(...list) + " to #" + Math.max(...list));
        let text = done.length ? verb + " " + seqs(done) + "." : "Nothing to " + noun + ".";
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
    twoStep(replayAll, () => bulkPlan("Replay", false), (p) => act("POST", "api/dead-letters/replay" + p.path, "Replayed", "replay"));
    twoStep(dropAll, () => bulkPlan("Drop", true), (p) => act("DELETE", "api/dead-letters" + p.path, "Dropped", "drop"));

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
      twoStep(drop, () => ({ question: "Drop for good?" }), () => act("DELETE", "api/dead-letters/" + encodeURIComponent(d.seq), "Dropped", "drop"));
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
        const res = await api("GET", "api/dead-letters" + query({ ...filter, limit: LIST_LIMIT }));
        if (!view.live()) return "";
        showMessage(error, "");
        const items = (res && res.dead_letters) || [];
        shown = items;
        more = items.length >= LIST_LIMIT && Boolean(res.next_before);
        setText(count, more ? "(the newest " + items.length + ")" : "(" + items.length + ")");
        // Keep the cards that are still there, with their open details and
        // pending confirmations, and add the new ones.
        syncChildren(list, items, (d) => d.seq, card);
        replayAll.disabled = dropAll.disabled = items.length === 0;
        showMessage(empty, items.length ? "" : "No dead letters" + (Object.values(filter).some(Boolean) ? " match these filters." : "."));
        const fresh = seen ? items.filter((d) => !seen.has(d.seq)).map((d) => "#" + d.seq) : [];
        seen = new Set(items.map((d) => d.seq));
        return fresh.length ? plural(fresh.length, "new dead letter") + " (" + fresh.join(", ") + ")" : "";
      },
      fail(e) {
        showMessage(error, e.message);
      },
    };
    return view;
  }

  // Rule activity: /api/rules/activity reads up to the whole log, so the
  // rules view asks for it when it opens, after a reload, and then once a
  // minute, not on every refresh.
  const ACTIVITY_MS = 60000;
  const ACTIVITY_HOURS = 24;

  const hourOf = (start, i) => new Date(new Date(start).getTime() + i * 3600000);
  const fmtHour = (d) => d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  const activityTotals = (t) => plural(t.matches, "match", "matches") + ", " + t.delivered + " delivered, " + t.failed + " failed";

  // activityChart draws one rule's hours as bars: per hour, its matches
  // (grey) and beside them its deliveries, delivered (green) under failed
  // (red), on the rule's own scale. The picture is one image to a screen
  // reader, labelled with the totals and the busiest hour; each hour's
  // counts are its tooltip.
  function activityChart(start, ra) {
    const n = ra.matches.length;
    const step = 7, bar = 3, h = 36;
    const peak = Math.max(1, ...ra.matches, ...ra.delivered.map((d, i) => d + ra.failed[i]));
    const y = (v) => Math.round((v / peak) * h);
    let busiest = -1;
    ra.matches.forEach((m, i) => {
      if (m > 0 && (busiest < 0 || m >= ra.matches[busiest])) busiest = i;
    });
    const t = ra.totals;
    let label = "Last " + plural(n, "hour") + ": " + activityTotals(t);
    if (busiest >= 0) {
      label += "; busiest hour from " + fmtHour(hourOf(start, busiest)) + ", " + plural(ra.matches[busiest], "match", "matches");
    }
    const bars = [];
    for (let i = 0; i < n; i++) {
      const m = ra.matches[i], d = ra.delivered[i], f = ra.failed[i];
      const x = i * step;
      bars.push(svg("g", {},
        svg("title", {}, fmtHour(hourOf(start, i)) + "–" + fmtHour(hourOf(start, i + 1)) + ": " + activityTotals({ matches: m, delivered: d, failed: f })),
        // A transparent column, so the whole hour shows its tooltip.
        svg("rect", { class: "hour", x, y: 0, width: step, height: h }),
        m ? svg("rect", { class: "matches", x, y: h - y(m), width: bar, height: y(m) }) : null,
        d ? svg("rect", { class: "delivered", x: x + bar, y: h - y(d), width: bar, height: y(d) }) : null,
        f ? svg("rect", { class: "failed", x: x + bar, y: h - y(d) - y(f), width: bar, height: y(f) }) : null));
    }
    return el("div", { class: "chart", "data-testid": "rule-chart", "data-matches": t.matches, "data-delivered": t.delivered, "data-failed": t.failed },
      svg("svg", { role: "img", "aria-label": label, width: n * step, height: h + 12, viewBox: "0 0 " + n * step + " " + (h + 12), "data-testid": "rule-chart-image" },
        bars, svg("line", { class: "axis", x1: 0, y1: h + 0.5, x2: n * step, y2: h + 0.5 }),
        svg("text", { class: "tick", x: 0, y: h + 11 }, fmtHour(hourOf(start, 0))),
        svg("text", { class: "tick", x: n * step, y: h + 11, "text-anchor": "end" }, "now")),
      // The same totals, for the eye; the image's label says them already.
      el("div", { class: "chart-totals muted", "aria-hidden": "true" },
        t.matches + " matched · " + t.delivered + " delivered", t.failed ? el("span", { class: "error" }, " · " + t.failed + " failed") : null));
  }

  function activityLegend(a) {
    if (!a) return el("p", { class: "muted" }, "Reading each rule's last 24 hours from the log…");
    return el("p", { class: "muted legend" },
      "Last 24 hours, one bar pair per hour, each rule on its own scale: ",
      el("span", { class: "swatch matches", "aria-hidden": "true" }), " matches, ",
      el("span", { class: "swatch delivered", "aria-hidden": "true" }), " delivered, ",
      el("span", { class: "swatch failed", "aria-hidden": "true" }), " failed for good. Read from the log at ",
      fmtTime(a.now), ", again every minute.",
      a.partial ? el("strong", { class: "warn-text", id: "activity-partial" }, " The log holds more than one read covers: the charts count only from ", fmtTime(a.oldest), ".") : null);
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
        fill(result, el("p", { class: "ok", id: "reload-ok" }, "Reloaded: " + plural(res.rules, "rule") + ", hash " + String(res.hash || "").slice(0, 12) + "."));
      } catch (e) {
        fill(result, 
          el("p", { class: "error" }, "Reload failed; the rules in force are unchanged:"),
          el("pre", { class: "error-text", id: "reload-error" }, e.message));
      }
      reload.disabled = false;
      meta(true).then(showReloadBanner, () => {});
      if (view.live()) view.refresh().catch((e) => view.fail(e));
    });

    const legend = el("div", { id: "activity-legend" });
    const activityError = el("p", { id: "activity-error", class: "error", role: "alert", hidden: true });
    let activity = null; // the last answer of /api/rules/activity
    let activityRead = 0; // when it was asked for
    let activityHash = null; // of the rules it was read under
    async function readActivity(m) {
      if (activity && activityHash === m.hash && Date.now() - activityRead < ACTIVITY_MS) return;
      activityRead = Date.now();
      activityHash = m.hash;
      try {
        activity = await api("GET", "api/rules/activity" + query({ hours: ACTIVITY_HOURS }));
        showMessage(activityError, "");
      } catch (e) {
        // The rest of the view stands; the charts say they are out of date.
        showMessage(activityError, "Could not read the rules' activity: " + e.message);
      }
    }

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
          legend,
          activityError,
          table("rules-table", "", RULE_COLS, rules),
        ];
      },
      async refresh() {
        const m = await meta(); // read afresh by each refresh: see checkRules
        await readActivity(m);
        if (!view.live()) return "";
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
        syncChildren(sources, m.sources || [], (s) => s.name, (s) =>
          row({ "data-testid": "source-row", "data-source": s.name }, SOURCE_COLS, s.name, s.vendor, el("td", { class: "mono" }, s.url_path)));
        replaceIfChanged(legend, activity && [activity.now, activity.partial, activity.oldest], () => activityLegend(activity));
        const ra = new Map(((activity && activity.rules) || []).map((x) => [x.rule, x]));
        const start = activity && activity.start;
        const items = (m.rules || []).map((r) => ({ ...r, activity: ra.get(r.name) || null, start }));
        syncChildren(rules, items, (r) => r.name, (r) =>
          row({ "data-testid": "rule-row", "data-rule": r.name }, RULE_COLS,
            el("td", {}, el("a", { href: "#/events" + query({ rule: r.name }), title: "Events that matched " + r.name }, r.name)),
            el("td", {}, r.sources && r.sources.length ? r.sources.join(", ") : el("span", { class: "muted" }, "all")),
            el("td", {}, el("code", { class: "wrap" }, r.when || "")),
            el("td", {}, el("ol", { class: "plain" }, (r.actions || []).map((a) => el("li", {}, el("strong", {}, a.kind), " ", el("span", { class: "mono wrap" }, a.target || ""))))),
            el("td", { class: "num", "data-testid": "rule-matches" }, r.matches),
            el("td", { class: "num", "data-testid": "rule-errors" }, r.errors),
            el("td", {}, r.activity ? activityChart(r.start, r.activity) : el("span", { class: "muted" }, "—"))));
        return "";
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
            renderedActions(r.actions)))),
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
        if (!view.live()) return "";
        const names = sourceNames(m);
        const cur = tryState.source && names.includes(tryState.source) ? tryState.source : names[0] || "";
        fill(sourceSel, names.map((n) => el("option", { value: n }, n)));
        sourceSel.value = cur;
        tryState.source = cur;
        return "";
      },
      fail(e) {
        showMessage(error, e.message);
      },
    };
    return view;
  }

  // The preview's bounds (how many stored events it reads at most, for
  // how long) are the server's: each answer states them, and the page
  // says them from the last answer it got.
  function boundsText(b) {
    if (!b) return "up to the bounds the server sets (stated once a preview has run)";
    const time = b.ms % 1000 === 0 ? b.ms / 1000 + " s" : fmtMS(b.ms);
    return "at most " + b.events.toLocaleString("en") + " events or " + time;
  }

  // A window given by time asks for as many events as the bound allows:
  // the server caps last at its bound.
  const AS_MANY_AS_ALLOWED = Number.MAX_SAFE_INTEGER;

  // The preview form keeps what was typed, its last answer and the bounds
  // that answer stated, while the operator looks elsewhere.
  const previewState = { name: "candidate.yaml", rules: "", by: "last", last: "1000", since: "24h", answer: null, bounds: null };

  function previewView() {
    const file = el("input", { id: "preview-file", type: "file", accept: ".yaml,.yml,.json,text/yaml,application/yaml,text/plain" });
    const text = el("textarea", { id: "preview-rules", name: "rules", rows: "16", spellcheck: "false", placeholder: "sources:\n  …\nrules:\n  - name: …\n    when: …" });
    const name = el("input", { id: "preview-name", name: "name", type: "text", spellcheck: "false" });
    const byLast = el("input", { id: "preview-by-last", type: "radio", name: "window", value: "last" });
    const bySince = el("input", { id: "preview-by-since", type: "radio", name: "window", value: "since" });
    const last = el("input", { id: "preview-last", name: "last", type: "number", min: "1", max: previewState.bounds ? String(previewState.bounds.events) : null, step: "1", "aria-label": "How many of the latest events" });
    const since = el("input", { id: "preview-since", name: "since", type: "text", spellcheck: "false", placeholder: "24h or 2024-05-01T00:00:00Z", "aria-label": "Received since (a duration back from now, or an RFC 3339 time)" });
    const run = el("button", { type: "submit", id: "preview-run" }, "Run preview");
    const status = el("p", { id: "preview-status", class: "muted", role: "status" });
    const failure = el("section", { id: "preview-error", role: "alert", hidden: true });
    const result = el("section", { id: "preview-result", hidden: true, "aria-labelledby": "preview-result-title" });
    const boundsNoteText = () => "A preview reads the stored events newest first, " + boundsText(previewState.bounds) + ", whichever comes first, and says when it stopped before the window's start.";
    const boundsNote = el("p", { id: "preview-bounds", class: "muted" }, boundsNoteText());
    text.value = previewState.rules;
    name.value = previewState.name;
    last.value = previewState.last;
    since.value = previewState.since;
    byLast.checked = previewState.by === "last";
    bySince.checked = previewState.by === "since";

    const form = el("form", { id: "preview-form", class: "stack" },
      labelled("Upload a rules file", file),
      labelled("Or paste one", text),
      labelled("File name, for error positions", name),
      el("fieldset", { class: "choice" },
        el("legend", {}, "Run it against the stored events"),
        el("div", { class: "inline" }, byLast, el("label", { for: "preview-by-last" }, "The last"), last, el("span", {}, "events received")),
        el("div", { class: "inline" }, bySince, el("label", { for: "preview-by-since" }, "Those received since"), since)),
      el("div", { class: "buttons" }, run));
    const save = () => Object.assign(previewState, { name: name.value, rules: text.value, by: bySince.checked ? "since" : "last", last: last.value, since: since.value });
    form.addEventListener("input", save);
    last.addEventListener("focus", () => { byLast.checked = true; save(); });
    since.addEventListener("focus", () => { bySince.checked = true; save(); });

    // The file is read here, in the page, and sent as text like a paste.
    file.addEventListener("change", () => {
      const f = file.files && file.files[0];
      if (!f) return;
      const reader = new FileReader();
      reader.addEventListener("load", () => {
        text.value = String(reader.result);
        name.value = f.name;
        save();
        showMessage(status, "Read " + f.name + " (" + plural(f.size, "byte") + "). Run the preview to see what it would change.");
      });
      reader.addEventListener("error", () => showMessage(status, "Could not read " + f.name + ": " + (reader.error ? reader.error.message : "unknown error") + "."));
      reader.readAsText(f);
    });

    let running = false;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (running) return;
      save();
      const req = { name: name.value.trim() || "candidate.yaml", rules: text.value };
      if (!req.rules.trim()) {
        showMessage(status, "Paste or upload a rules file first.");
        return;
      }
      if (bySince.checked) {
        if (!since.value.trim()) {
          showMessage(status, "Say since when: a duration such as 24h, or an RFC 3339 time.");
          return;
        }
        // The window is the time.
        req.since = since.value.trim();
        req.last = AS_MANY_AS_ALLOWED;
      } else {
        req.last = Math.max(1, Math.floor(Number(last.value)) || 1000);
      }
      running = true;
      run.setAttribute("aria-disabled", "true");
      showMessage(status, previewState.bounds ? "Running the preview (" + boundsText(previewState.bounds) + ")…" : "Running the preview…");
      try {
        const res = await api("POST", "api/preview", req);
        previewState.answer = { req, res };
        if (res && res.bounds) previewState.bounds = res.bounds;
      } catch (e) {
        previewState.answer = { req, error: e };
      } finally {
        running = false;
        run.removeAttribute("aria-disabled");
      }
      if (view.live()) show();
    });

    function show() {
      const a = previewState.answer;
      failure.hidden = result.hidden = true;
      if (!a) return;
      if (a.error) {
        const load = a.error.status === 422;
        fill(failure,
          el("h3", {}, load ? "The candidate does not load" : "The preview failed"),
          el("p", {}, load ? "Nothing was run. A reload of this file would be refused with:" : "Nothing was run:"),
          el("pre", { id: "preview-error-text", class: "error-text" }, a.error.message));
        failure.hidden = false;
        showMessage(status, load ? "The candidate does not load: see its errors below." : "The preview failed.");
        return;
      }
      const rs = a.res.rules || [];
      const differ = rs.filter(differs).length;
      setText(boundsNote, boundsNoteText());
      if (previewState.bounds) last.max = String(previewState.bounds.events);
      fill(result, previewResult(a.req, a.res));
      result.hidden = false;
      showMessage(status, "Preview done: " + (differ ? plural(differ, "rule") + " would match differently." : "no rule would match differently."));
    }

    const view = {
      title: "Preview a rules file",
      manual: true, // it runs when asked
      render() {
        return [
          el("h2", { tabindex: "-1" }, "Preview a rules file"),
          el("p", { class: "muted" }, "Runs a candidate rules file against the events this router really received, beside the rules in force, and shows rule by rule what would change before you reload. The file is loaded exactly as a reload would load it. Nothing is sent or stored."),
          boundsNote,
          form,
          status,
          failure,
          result,
        ];
      },
      async refresh() {
        show();
        return "";
      },
      fail() {},
    };
    return view;
  }

  // differs: the rule would match other events under the candidate.
  const differs = (rp) => rp.change !== "kept" || rp.matches_now !== rp.matches_candidate || rp.newly > 0 || rp.no_longer > 0;

  function previewResult(req, res) {
    const w = res.window || {};
    const rs = res.rules || [];
    const differ = rs.filter(differs).length;
    let stop = "That is every stored event in the window.";
    if (w.partial) {
      stop = w.scanned >= req.last && !req.since
        ? "These are the last " + plural(w.scanned, "event") + " asked for; older events were not read."
        : "It stopped at its bound (" + boundsText(res.bounds) + "): older events in the window were not read.";
    }
    return [
      el("h3", { id: "preview-result-title" }, "What would change"),
      el("p", { id: "preview-window" },
        "This preview read " + plural(w.scanned, "stored event") + (req.since ? " received since " + req.since : "") + " in " + fmtMS(w.took_ms) + ". ",
        w.partial ? el("strong", { class: "warn-text", id: "preview-partial" }, stop) : stop),
      res.unreadable ? el("p", { id: "preview-unreadable", class: "warn-text" }, plural(res.unreadable, "event") + " could not be read with the candidate's sources (the source is gone, or the payload no longer normalizes): under the candidate they match nothing.") : null,
      el("p", {}, differ ? plural(differ, "rule") + " of " + rs.length + " would match differently (highlighted)." : "No rule would match differently on these events."),
      table("preview-table", "Matches per rule, under the rules in force and under the candidate", PREVIEW_COLS,
        el("tbody", { id: "preview-body" }, rs.map(previewRow))),
      el("h3", {}, "Rule by rule"),
      el("ol", { id: "preview-rules-list", class: "cards" }, rs.map(previewCard)),
    ];
  }

  function changeBadge(change) {
    const cls = { added: "outcome-delivered", removed: "outcome-dead" }[change] || "outcome-other";
    return el("span", { class: "badge " + cls }, change);
  }

  // countsCell shows a rule's matches now and under the candidate, and
  // how many events would newly match (+) and stop matching (−): a rule
  // can trade some events for others with the same count.
  function countsCell(rp) {
    return el("td", { class: "num", "data-testid": "preview-counts" },
      el("span", { class: "sr-only" }, "now "), String(rp.matches_now),
      el("span", { "aria-hidden": "true" }, " → "),
      el("span", { class: "sr-only" }, ", under the candidate "), el("strong", {}, String(rp.matches_candidate)),
      rp.newly ? [" ", el("span", { class: "badge delta-up", title: newlyText(rp) }, el("span", { class: "sr-only" }, ", newly matching "), "+" + rp.newly)] : null,
      rp.no_longer ? [" ", el("span", { class: "badge delta-down", title: noLongerText(rp) }, el("span", { class: "sr-only" }, ", no longer matching "), "−" + rp.no_longer)] : null);
  }

  const newlyText = (rp) => plural(rp.newly, "event") + " would newly match";
  const noLongerText = (rp) => plural(rp.no_longer, "event") + " would no longer match";

  function previewRow(rp) {
    const diff = differs(rp);
    return row({ "data-testid": "preview-row", "data-rule": rp.name, "data-change": rp.change, "data-now": rp.matches_now, "data-candidate": rp.matches_candidate, "data-newly": rp.newly, "data-no-longer": rp.no_longer, "data-differs": String(diff), class: diff ? "differs" : null }, PREVIEW_COLS,
      el("td", { class: "wrap" }, rp.name),
      el("td", {}, changeBadge(rp.change)),
      countsCell(rp),
      el("td", { class: "num", "data-testid": "preview-errors" }, rp.errors ? el("span", { class: "badge outcome-dead" }, String(rp.errors)) : "0"));
  }

  function eventRef(e) {
    return [e.source, " ", el("strong", {}, e.event), " ", el("span", { class: "mono wrap" }, e.id), " · received ", fmtTime(e.received)];
  }

  // refList lists the first few events of count: the answer holds only
  // the first ones, and the heading says how many there are in all.
  function refList(title, count, refs, testid) {
    if (!count) return null;
    refs = refs || [];
    const shown = refs.length < count ? "; the first " + refs.length + ":" : ":";
    return el("div", { "data-testid": testid, "data-count": count },
      el("h5", {}, title + shown),
      el("ul", { class: "plain" }, refs.map((e) => el("li", {}, eventRef(e)))));
  }

  function previewCard(rp) {
    const diff = differs(rp);
    let example = null;
    if (rp.example) {
      example = el("div", { "data-testid": "preview-example" },
        el("h5", {}, "Its actions, rendered for ", eventRef(rp.example)),
        renderedActions(rp.actions) || el("p", { class: "muted" }, "No actions."));
    } else if (rp.change !== "removed") {
      example = el("p", { class: "muted" }, "No event in the window matches it under the candidate, so nothing was rendered.");
    }
    return el("li", { class: "card" + (diff ? " differs" : ""), "data-testid": "preview-rule", "data-rule": rp.name },
      el("details", { open: diff || rp.errors > 0 },
        el("summary", {}, el("strong", {}, rp.name), " ", changeBadge(rp.change), " ",
          el("span", { class: "muted" }, rp.matches_now + " → " + rp.matches_candidate +
            (rp.newly ? ", " + rp.newly + " newly" : "") + (rp.no_longer ? ", " + rp.no_longer + " no longer" : "") +
            (rp.errors ? ", " + plural(rp.errors, "condition error") : ""))),
        el("p", {}, "Matches " + rp.matches_now + " under the rules in force, " + rp.matches_candidate + " under the candidate."),
        refList(newlyText(rp), rp.newly, rp.newly_matching, "preview-newly"),
        refList(noLongerText(rp), rp.no_longer, rp.no_longer_matching, "preview-no-longer"),
        rp.errors ? el("div", {},
          el("h5", {}, plural(rp.errors, "event") + " made its condition fail"),
          el("ul", { class: "plain" }, (rp.error_samples || []).map((x) => el("li", {}, el("pre", { class: "error-text", "data-testid": "preview-error-sample" }, x))))) : null,
        example));
  }

  // ---------------------------------------------------------------- mutes

  // The mute form keeps what was typed while the operator looks elsewhere.
  const muteState = { rule: "", for: "2h", comment: "", when: "" };
  const MUTE_DURATIONS = ["30m", "1h", "2h", "4h", "8h", "24h", "72h", "168h"];

  // field is labelled() with a line of help the control is described by.
  function field(label, control, help) {
    const helpID = control.id + "-help";
    control.setAttribute("aria-describedby", helpID);
    return el("div", { class: "field" }, el("label", { for: control.id }, label), control, el("p", { id: helpID, class: "help muted" }, help));
  }

  function mutesView() {
    const error = el("p", { id: "mutes-error", class: "error", role: "alert", hidden: true });
    const message = el("p", { id: "mutes-message", class: "notice-line", role: "status", hidden: true });
    const body = el("tbody", { id: "mutes-body" });
    const empty = el("p", { id: "mutes-empty", class: "muted", hidden: true }, "No mutes in force: every matched rule fires.");
    const count = el("span", { id: "mutes-count", class: "muted" });
    const listTitle = el("h3", { id: "mutes-title", tabindex: "-1" }, "In force ", count);
    const list = table("mutes-table", "Mutes in force, the soonest to end first", MUTE_COLS, body);
    list.hidden = true; // until the first read
    let seen = null; // id -> mute, as of the last refresh (null before the first)

    const ruleSel = select("mute-rule", "rule", "Choose a rule", [], muteState.rule);
    ruleSel.required = true;
    const dur = el("input", { id: "mute-for", name: "for", type: "text", required: true, spellcheck: "false", autocomplete: "off", list: "mute-for-choices", value: muteState.for });
    const comment = el("input", { id: "mute-comment", name: "comment", type: "text", required: true, autocomplete: "off", value: muteState.comment });
    const when = el("input", { id: "mute-when", name: "when", type: "text", spellcheck: "false", autocomplete: "off", placeholder: "data.post.id == 99", value: muteState.when });
    const add = el("button", { type: "submit", id: "mute-add" }, "Add mute");
    // A condition's error points at its column: keep it monospaced.
    const formError = el("pre", { id: "mute-form-error", class: "error-text", role: "alert", hidden: true });
    const formStatus = el("p", { id: "mute-form-status", class: "notice-line", role: "status", hidden: true });
    const form = el("form", { id: "mute-form", class: "stack", "aria-labelledby": "mute-form-title" },
      field("Rule", ruleSel, "The rule whose firings to hold back."),
      field("For", dur, "How long, such as 30m, 2h or 72h. The mute then ends by itself."),
      el("datalist", { id: "mute-for-choices" }, MUTE_DURATIONS.map((v) => el("option", { value: v }))),
      field("Comment", comment, "Why: every firing it holds back is recorded with it."),
      field("Only when (optional)", when, "A condition, written as a rule's when: only the firings whose event it holds for are muted. Empty: every firing of the rule."),
      el("div", { class: "buttons" }, add),
      formError,
      formStatus);
    const save = () => Object.assign(muteState, { rule: ruleSel.value, for: dur.value, comment: comment.value, when: when.value });
    form.addEventListener("input", save);
    form.addEventListener("change", save);

    let adding = false;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (adding) return;
      showMessage(formError, "");
      showMessage(formStatus, "");
      const req = { rule: ruleSel.value, for: dur.value.trim(), comment: comment.value.trim() };
      if (when.value.trim()) req.when = when.value.trim();
      adding = true;
      add.setAttribute("aria-disabled", "true");
      try {
        const m = await api("POST", "api/mutes", req);
        if (seen) seen.set(m.id, m); // said here; the refresh need not say it again
        comment.value = when.value = "";
        save();
        showMessage(formStatus, "Muted " + m.rule + (m.when ? " when " + m.when : "") + " until " + fmtAt(m.ends) + " (mute " + m.id + ").");
      } catch (e) {
        // The API's answer, word for word: it names what to fix.
        showMessage(formError, e.message);
      } finally {
        adding = false;
        add.removeAttribute("aria-disabled");
      }
      if (view.live()) view.refresh().catch((e) => view.fail(e));
    });

    // expire ends a mute now. The focus, on its Expire button, goes to the
    // next mute's (or the previous one's), or to the list's title.
    async function expire(m) {
      showMessage(message, "");
      showMessage(error, "");
      const rows = [...body.children];
      const at = rows.findIndex((r) => r.dataset.key === m.id);
      const next = rows[at + 1] || rows[at - 1];
      const nextKey = next ? next.dataset.key : null;
      try {
        await api("DELETE", "api/mutes/" + encodeURIComponent(m.id));
        showMessage(message, "Expired mute " + m.id + " of " + m.rule + ": its firings go out again.");
        if (seen) seen.delete(m.id); // said here
      } catch (e) {
        if (e.status !== 404) {
          showMessage(error, e.message);
          return;
        }
        showMessage(message, "Mute " + m.id + " of " + m.rule + " had already ended.");
        if (seen) seen.delete(m.id);
      }
      if (!view.live()) return;
      try {
        await view.refresh();
      } catch (e) {
        view.fail(e);
      }
      const lost = document.activeElement === $("main") || document.activeElement === document.body;
      if (!lost || !view.live()) return;
      const target = nextKey && [...body.children].find((r) => r.dataset.key === nextKey);
      (target ? target.querySelector('[data-testid="expire"]') : listTitle).focus();
    }

    function muteRow(m) {
      const ruleID = "mute-" + m.id + "-rule";
      const expireButton = el("button", { type: "button", class: "danger", "data-testid": "expire", "aria-describedby": ruleID }, "Expire");
      twoStep(expireButton, () => ({ question: "Expire the mute of " + m.rule + " now? Click again" }), () => expire(m));
      return row({ "data-testid": "mute-row", "data-id": m.id, "data-rule": m.rule }, MUTE_COLS,
        el("td", { id: ruleID }, m.rule),
        el("td", { "data-testid": "mute-when" }, m.when ? el("code", { class: "wrap" }, m.when) : el("span", { class: "muted" }, "every firing")),
        el("td", { class: "wrap", "data-testid": "mute-comment" }, m.comment),
        // One child per cell, so that a narrow window's card keeps it beside its label.
        el("td", { "data-testid": "mute-ends" }, el("span", {}, fmtTime(m.ends), " ", el("span", { class: "muted", "data-ends": m.ends }, "(" + fmtIn(m.ends, Date.now()) + ")"))),
        el("td", {}, el("div", {}, el("span", { class: "mono" }, m.id), el("div", { class: "muted" }, "added ", fmtTime(m.created)))),
        el("td", {}, expireButton));
    }

    // The rule menu follows the rules in force, in place, so that it keeps
    // the focus and the choice across a reload.
    let menuFor = null;
    function fillRules(names) {
      const key = JSON.stringify(names);
      if (key === menuFor) return;
      menuFor = key;
      const filled = select("mute-rule", "rule", "Choose a rule", names, ruleSel.value || muteState.rule);
      ruleSel.replaceChildren(...filled.children);
      ruleSel.value = filled.value;
    }

    const view = {
      title: "Mutes",
      render() {
        return [
          el("h2", { tabindex: "-1" }, "Mutes"),
          el("p", { class: "muted" }, "A mute holds back a rule's firings for a while, as Alertmanager's silences do: a muted firing makes no delivery, and its event says which mute held it. A mute ends by itself; Expire ends it now. The command line has the same: ",
            el("code", {}, "switchyard mute add"), ", ", el("code", {}, "list"), ", ", el("code", {}, "expire"), "."),
          error,
          listTitle,
          message,
          list,
          empty,
          el("h3", { id: "mute-form-title" }, "Add a mute"),
          form,
        ];
      },
      async refresh() {
        const [res, m] = await Promise.all([api("GET", "api/mutes"), meta().catch(() => null)]);
        if (!view.live()) return "";
        showMessage(error, "");
        if (m) fillRules(ruleNames(m));
        const mutes = (res && res.mutes) || [];
        syncChildren(body, mutes, (x) => x.id, muteRow);
        // A kept row's "in 1h 12m" moves on; it is not in a live region.
        const now = Date.now();
        for (const span of body.querySelectorAll("[data-ends]")) {
          const t = "(" + fmtIn(span.dataset.ends, now) + ")";
          if (span.textContent !== t) span.textContent = t;
        }
        setText(count, "(" + mutes.length + ")");
        showMessage(empty, mutes.length ? "" : "No mutes in force: every matched rule fires.");
        list.hidden = mutes.length === 0;
        // What changed: mutes added elsewhere (the command line, another
        // tab), mutes that ended by themselves.
        const said = [];
        if (seen) {
          const ids = new Set(mutes.map((x) => x.id));
          const fresh = mutes.filter((x) => !seen.has(x.id));
          const gone = [...seen.values()].filter((x) => !ids.has(x.id));
          if (fresh.length) said.push(plural(fresh.length, "new mute") + ": " + fresh.map((x) => x.rule + " until " + fmtAt(x.ends)).join(", "));
          if (gone.length) said.push(plural(gone.length, "mute") + " ended: " + gone.map((x) => x.rule + " (" + x.id + ")").join(", "));
        }
        seen = new Map(mutes.map((x) => [x.id, x]));
        return said.join("; ");
      },
      fail(e) {
        showMessage(error, e.message);
      },
    };
    return view;
  }

  // Pending groups: the events a grouped rule holds until they fire
  // together. Their own tab, not a section of Rules: the list changes with
  // every event and every firing (one group per key, possibly hundreds),
  // where Rules is the configuration, and it is where an event's "grouped"
  // badge links to.
  function groupsView() {
    const error = el("p", { id: "groups-error", class: "error", role: "alert", hidden: true });
    const body = el("tbody", { id: "groups-body" });
    const count = el("span", { id: "groups-count", class: "muted" });
    const empty = el("p", { id: "groups-empty", class: "muted", hidden: true }, "No pending groups.");
    const list = table("groups-table", "Pending groups, the soonest to fire first", GROUP_COLS, body);
    list.hidden = true; // until the first read
    let seen = null; // group key -> group, as of the last refresh

    const keyOf = (g) => g.rule + "\u0000" + g.key;
    const name = (g) => g.rule + " (" + (g.key === "" ? "no key" : g.key) + ")";

    function groupRow(g) {
      // A group that fired and collected nothing since waits for company
      // until due; if none comes, it ends there without a message.
      const waiting = g.count > 0 || g.firing;
      return row({ "data-testid": "group-row", "data-rule": g.rule, "data-group": g.key }, GROUP_COLS,
        el("td", {}, el("a", { href: "#/events" + query({ rule: g.rule }), title: "Events that matched " + g.rule }, g.rule)),
        el("td", { class: "wrap", "data-testid": "group-key" }, g.key === "" ? el("span", { class: "muted" }, "no key") : el("code", {}, g.key)),
        el("td", { class: "num", "data-testid": "group-count" }, g.count),
        el("td", { "data-testid": "group-first" }, fmtTime(g.first)),
        el("td", { "data-testid": "group-due" }, el("span", {},
          waiting ? null : "ends, unless an event joins, ",
          fmtTime(g.due), " ", el("span", { class: "muted", "data-due": g.due }, "(" + fmtIn(g.due, Date.now(), "due now") + ")"))),
        el("td", { "data-testid": "group-state" }, g.firing
          ? el("span", { class: "badge outcome-retrying", title: "firing " + g.firing }, "firing")
          : waiting ? el("span", { class: "badge held" }, "waiting") : el("span", { class: "badge outcome-other" }, "idle")));
    }

    const view = {
      title: "Groups",
      render() {
        return [
          el("h2", { tabindex: "-1" }, "Groups"),
          el("p", { class: "muted" }, "A rule with ", el("code", {}, "group:"),
            " holds the events it matches in one group per key, and sends them together: the first event waits for company, then the group fires at most once an interval (or on its schedule). Each event waiting here is stored; its record says which group holds it."),
          error,
          el("h3", { id: "groups-title" }, "Pending ", count),
          list,
          empty,
        ];
      },
      async refresh() {
        const res = await api("GET", "api/groups");
        if (!view.live()) return "";
        showMessage(error, "");
        const groups = (res && res.groups) || [];
        syncChildren(body, groups, keyOf, groupRow);
        updateCountdowns(body);
        setText(count, "(" + groups.length + ")");
        showMessage(empty, groups.length ? "" : "No pending groups: no grouped rule holds an event now.");
        list.hidden = groups.length === 0;
        const said = [];
        if (seen) {
          const keys = new Set(groups.map(keyOf));
          const fresh = groups.filter((g) => !seen.has(keyOf(g)));
          const gone = [...seen.values()].filter((g) => !keys.has(keyOf(g)));
          const fired = groups.filter((g) => seen.has(keyOf(g)) && g.count < seen.get(keyOf(g)).count);
          if (fresh.length) said.push(plural(fresh.length, "new group") + ": " + fresh.map(name).join(", "));
          if (fired.length) said.push(plural(fired.length, "group") + " fired: " + fired.map(name).join(", "));
          if (gone.length) said.push(plural(gone.length, "group") + " ended: " + gone.map(name).join(", "));
        }
        seen = new Map(groups.map((g) => [keyOf(g), g]));
        return said.join("; ");
      },
      fail(e) {
        showMessage(error, e.message);
      },
    };
    return view;
  }

  // updateCountdowns moves every "(in 12s)" under node on. They are in no
  // live region: a screen reader reads them when it gets there, and is not
  // told each second.
  function updateCountdowns(node) {
    const now = Date.now();
    for (const span of node.querySelectorAll("[data-due]")) {
      const t = "(" + fmtIn(span.dataset.due, now, "due now") + ")";
      if (span.textContent !== t) span.textContent = t;
    }
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
      case "preview":
        return previewView();
      case "mutes":
        return mutesView();
      case "groups":
        return groupsView();
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
    // What the last view announced is not about this one.
    setText($("status"), "");
    document.title = view.title + " · Switchyard";
    fill(main, view.render());
    const h = main.querySelector("h2");
    if (h && document.activeElement !== $("token-input")) h.focus({ preventScroll: true });
    tick(true);
  }

  // tick refreshes the reload banner and the view. What the view says
  // changed goes to the live region; the time of the refresh is shown
  // beside it, outside the live region, so it is not read out.
  async function tick(force) {
    if (!force && (!$("auto-refresh").checked || document.visibilityState !== "visible")) return;
    checkRules();
    const view = current;
    if (!view || view.busy || (!force && view.manual)) return;
    view.busy = true;
    try {
      const said = await view.refresh();
      if (view.live()) {
        announce(said);
        setText($("updated"), "Updated " + new Date().toLocaleTimeString());
      }
    } catch (e) {
      if (view.live()) view.fail(e);
      setText($("updated"), "Last refresh failed at " + new Date().toLocaleTimeString() + ": " + e.message);
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
    // Countdowns move each second between refreshes.
    setInterval(() => updateCountdowns($("main")), 1000);
    if (!location.hash) history.replaceState(null, "", "#/events");
    route();
  }

  start();
})();
