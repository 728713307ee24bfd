/* District notices on the phones (worker and volunteer pages): an unacknowledged notice shows
   at once at the top of the panel (emergency in red); two taps acknowledge it: how many
   households were reached (all / half / none), then 确认收到. Polls /api/notices/mine every
   20 s, on sign-in and when the tab comes back. Every value from data goes in as text. */
(function () {
  "use strict";
  var POLL_MS = 20000;
  var TOKEN = "wangge.token";
  var TEXT = {
    zh: {
      heading: "待确认的通知",
      emergency: "紧急",
      routine: "通知",
      from: "发送人 {sender} · {time}",
      yours: "您负责 {n} 户，已通知到几户？",
      all: "全部 {n} 户",
      half: "约一半 {n} 户",
      none: "还没有",
      confirm: "确认收到",
      pick_first: "请先选择已通知的户数",
      done: "已确认：已通知 {n} 户",
      failed: "确认未成功：",
      acknowledged: "已确认的通知 {n} 条",
    },
    en: {
      heading: "Notices to acknowledge",
      emergency: "Emergency",
      routine: "Notice",
      from: "from {sender} · {time}",
      yours: "You answer for {n} households; how many have you reached?",
      all: "All {n}",
      half: "About half: {n}",
      none: "None yet",
      confirm: "Acknowledge",
      pick_first: "Pick the households reached first",
      done: "Acknowledged: {n} households reached",
      failed: "Not acknowledged: ",
      acknowledged: "{n} acknowledged notices",
    },
  };

  var T; // set on mount: this script may load before wangge.js

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function call(method, url, body) {
    var token = sessionStorage.getItem(TOKEN);
    if (!token) return Promise.resolve(null);
    var init = { method: method, headers: { Authorization: "Bearer " + token } };
    if (body) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(
      function (r) {
        return r.json().then(
          function (data) {
            return { ok: r.ok, status: r.status, data: data };
          },
          function () {
            return { ok: r.ok, status: r.status, data: null };
          }
        );
      },
      function () {
        return null; // offline: try again on the next round
      }
    );
  }

  function when(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleString(document.documentElement.lang || "zh-CN");
  }

  function card(n, box, reload) {
    var item = el("article", "notice-card notice-" + (n.level === "emergency" ? "emergency" : "routine"));
    item.dataset.notice = n.id;
    var head = el("h3");
    head.appendChild(el("span", "notice-level", T(n.level)));
    head.appendChild(document.createTextNode(" " + n.title));
    item.appendChild(head);
    item.appendChild(el("p", "notice-body", n.body));
    item.appendChild(el("p", "notice-meta", T("from", { sender: n.sender_name || n.sender, time: when(n.sent_at) })));
    item.appendChild(el("p", "notice-ask", T("yours", { n: n.households })));
    (n.areas || []).forEach(function (a) {
      if (a.note) item.appendChild(el("p", "notice-note", a.note));
    });
    var chosen = null;
    var picks = el("div", "notice-picks");
    var confirm = el("button", "notice-confirm", T("confirm"));
    confirm.type = "button";
    confirm.disabled = true;
    [
      ["all", n.households],
      ["half", Math.floor(n.households / 2)],
      ["none", 0],
    ].forEach(function (pair) {
      var b = el("button", "notice-pick", T(pair[0], { n: pair[1] }));
      b.type = "button";
      b.dataset.households = pair[1];
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", function () {
        chosen = pair[1];
        picks.querySelectorAll("button").forEach(function (o) {
          o.setAttribute("aria-pressed", o === b ? "true" : "false");
        });
        confirm.disabled = false;
      });
      picks.appendChild(b);
    });
    item.appendChild(picks);
    var line = el("p", "notice-line");
    line.setAttribute("role", "status");
    confirm.addEventListener("click", function () {
      if (chosen === null) return (line.textContent = T("pick_first"));
      confirm.disabled = true;
      call("POST", "/api/notices/" + n.id + "/ack", { households_reached: chosen }).then(function (r) {
        if (r && r.ok) {
          box.dataset.lastAck = String(n.id);
          line.textContent = T("done", { n: r.data.households_reached });
          setTimeout(reload, 800);
        } else {
          confirm.disabled = false;
          var why = r && r.data && r.data.detail;
          line.textContent = T("failed") + (typeof why === "string" ? why : r ? "HTTP " + r.status : "offline");
        }
      });
    });
    item.appendChild(confirm);
    item.appendChild(line);
    return item;
  }

  function mount() {
    T = window.wangge.localText(TEXT);
    var panel = document.getElementById("panel") || document.body;
    var box = el("section", "notices-strip");
    box.id = "notices";
    box.hidden = true;
    box.setAttribute("aria-live", "assertive");
    var anchor = document.getElementById("whoami");
    if (anchor) anchor.parentNode.insertBefore(box, anchor.nextSibling);
    else panel.insertBefore(box, panel.firstChild);

    var loading = false;
    function load() {
      if (loading) return;
      if (!sessionStorage.getItem(TOKEN)) {
        box.hidden = true;
        box.textContent = "";
        return;
      }
      loading = true;
      call("GET", "/api/notices/mine").then(function (r) {
        loading = false;
        if (!r || !r.ok || !Array.isArray(r.data)) return;
        var open = r.data.filter(function (n) {
          return !n.acknowledged;
        });
        box.textContent = "";
        box.hidden = !r.data.length;
        if (open.length) box.appendChild(el("h2", "notices-heading", T("heading")));
        open.forEach(function (n) {
          box.appendChild(card(n, box, load));
        });
        var done = r.data.length - open.length;
        if (done) box.appendChild(el("p", "notices-done", T("acknowledged", { n: done })));
        box.dataset.loaded = String(Date.now());
      });
    }
    load();
    setInterval(load, POLL_MS);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) load();
    });
    // sign-in and sign-out show or hide the signed-in line: load then
    var who = document.getElementById("whoami");
    if (who && window.MutationObserver) {
      new MutationObserver(load).observe(who, { attributes: true, attributeFilter: ["hidden"] });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
