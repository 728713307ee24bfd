/* The grid worker's phone app: after sign-in, the worker's grids, buildings and open cases;
   the list filtered (mine / my grids / overdue), a case's detail (worker_detail.js), every
   step through the outbox (worker_outbox.js). */
(function () {
  "use strict";
  var W = window.wangge;
  var App = window.wanggeWorker;
  var T = function (k, v) {
    return W.T(k, v);
  };
  var OPEN = ["reported", "dispatched", "accepted", "in_progress", "escalated_community"];
  var TAKERS = ["grid_leader", "admin"]; // may take a case dispatched to someone else
  // for this tab only, so that a reload while offline still shows the worker's cases
  var WHO = "wangge.worker.user"; // the signed-in profile
  var LIST = "wangge.worker.cases"; // the last list of cases

  function remembered(key) {
    try {
      return JSON.parse(sessionStorage.getItem(key) || "null");
    } catch (e) {
      return null;
    }
  }

  W.register("worker", function (map, layers, config) {
    var state = { user: null, cases: [], filter: "grids", timing: {} };
    W.workerPage = state;
    var $ = function (id) {
      return document.getElementById(id);
    };

    App.gridName = function (code) {
      if (!code) return "–";
      var community = config.communities[code.slice(0, 12)] || "";
      var name = community + T("grid_n", { n: parseInt(code.slice(12, 15), 10) });
      if (code.length === 18) name += T("micro_n", { n: parseInt(code.slice(15, 18), 10) });
      return name;
    };
    // one formatter for every date: toLocaleString builds a new one per call (slow on phones)
    var dates = new Intl.DateTimeFormat(config.lang === "en" ? "en" : "zh-CN", {
      dateStyle: "short",
      timeStyle: "short",
    });
    App.when = function (iso) {
      return iso ? dates.format(new Date(iso)) : "–";
    };
    var markers = L.canvas({ padding: 0.2 }); // one canvas for all case markers, not 200 SVG nodes

    var outbox = (state.outbox = App.Outbox({
      token: W.token,
      user: function () {
        // after a reload offline the profile cannot be fetched; the session's token still
        // belongs to the account remembered for this tab
        return state.user ? state.user.username : W.token() && (remembered(WHO) || {}).username;
      },
      onChange: showOutbox,
      onSent: function (item) {
        var action = item.kind === "photo" ? "photo" : item.body.action;
        W.status(T("done_" + action, { id: item.caseId }), "ok");
        refresh(item.caseId);
      },
      onRejected: function (item, r) {
        W.status(T("rejected", { id: item.caseId }) + W.detail(r), "error");
        refresh(item.caseId);
      },
    }));

    function showOutbox(items) {
      var line = $("outbox");
      line.hidden = !items.length;
      line.textContent = items.length ? T("outbox", { n: items.length }) : "";
      if (state.detail) App.showPending(state.detail, items);
    }

    /* a step or a photo: into the outbox, sent at once when online */
    state.send = function (c, item) {
      item.caseId = c.id;
      try {
        var sent = outbox.add(item);
      } catch (e) {
        return W.status(T("failed") + e, "error");
      }
      sent.then(function () {
        var waiting = outbox.items().some(function (i) {
          return i.key === item.key;
        });
        if (waiting) W.status(T("queued") + " · " + T("outbox", { n: outbox.items().length }), "warning");
      });
      return sent;
    };

    var refreshing = null;
    function refresh(caseId) {
      if (refreshing) clearTimeout(refreshing);
      refreshing = setTimeout(function () {
        refreshing = null;
        loadCases();
        if (state.detail && state.detail.id === caseId) App.openDetail(state, state.detail);
      }, 50);
    }

    function clear() {
      ["grids", "buildings", "cases"].forEach(function (k) {
        layers[k].clearLayers();
      });
      $("case-list").textContent = "";
      $("my-grids").textContent = "";
      App.buildingMarkers = {};
    }

    /* the page reloaded without a network: the tab's profile and last list, until online */
    function offline(profile) {
      var who = $("whoami");
      $("signin").hidden = true;
      who.hidden = false;
      var name = T("signed_in_as") + (profile.display_name || profile.username);
      who.querySelector("span").textContent = name + " · " + T("offline");
      window.addEventListener("online", function back() {
        W.me().then(function (user) {
          if (!user) return;
          window.removeEventListener("online", back);
          who.querySelector("span").textContent = name;
          load(user);
        });
      });
      load(profile);
    }

    function mine(p, codes) {
      return codes.indexOf(p.code) >= 0 || codes.indexOf(p.parent_code) >= 0;
    }

    function load(user) {
      clear();
      state.user = user;
      App.closeDetail(state);
      if (!user && W.token() && remembered(WHO)) return offline(remembered(WHO));
      if (!user) {
        sessionStorage.removeItem(WHO);
        sessionStorage.removeItem(LIST);
        return;
      }
      sessionStorage.setItem(WHO, JSON.stringify(user));
      var codes = user.grid_codes || [];
      state.filter = null; // chosen with the first list: 我的 when there are any
      $("my-grids").textContent = codes.map(App.gridName).join("、") || "–";
      var community = user.community_code || (codes[0] || "").slice(0, 12);
      loadCases();
      outbox.flush();
      if (!community) return;
      var q = "?community=" + community;
      Promise.all([W.api("GET", "/api/grids" + q), W.api("GET", "/api/buildings" + q)]).then(
        function (r) {
          if (r[0].status === 0) return; // offline
          if (!r[0].ok) return W.status(T("failed") + W.detail(r[0]), "error");
          drawGrids(r[0].data.features.filter(function (f) {
            return mine(f.properties, codes);
          }), r[1]);
        }
      );
    }

    function drawGrids(grids, buildings) {
      grids.sort(function (a, b) {
        return (a.properties.level === "grid") - (b.properties.level === "grid");
      });
      var members = {};
      grids.forEach(function (f) {
        (f.properties.members || []).forEach(function (m) {
          members[m[0]] = true;
        });
      });
      var drawn = L.geoJSON({ type: "FeatureCollection", features: grids }, {
        style: function (f) {
          return f.properties.level === "grid"
            ? { color: "#1f6feb", weight: 3, fillOpacity: 0.08 }
            : { color: "#1f6feb", weight: 1, dashArray: "3 3", fillOpacity: 0 };
        },
      }).bindTooltip(function (l) {
        var p = l.feature.properties;
        return W.el("span", { text: App.gridName(p.code) + " · " + p.households + " " + T("households") });
      });
      layers.grids.addLayer(drawn);
      if (grids.length) map.fitBounds(drawn.getBounds(), { maxZoom: 18 });
      if (!buildings.ok) return;
      buildings.data.features.forEach(function (f) {
        var p = f.properties;
        if (!members[p.building_id]) return;
        var c = f.geometry.coordinates;
        var label = W.el("span");
        var named = function () {
          label.textContent = buildingTitle(p) + " · " + p.households + " " + T("households");
        };
        named(); // and again when shown: the visit list may have told it apart since
        var dot = L.circleMarker([c[1], c[0]], { radius: 4, color: "#555", weight: 1, fillOpacity: 0.7 })
          .bindTooltip(label, { direction: "top" }) // above: a long title fits a phone's width
          .on("tooltipopen", named)
          .addTo(layers.buildings);
        dot.building = p;
        App.buildingMarkers[p.building_id] = dot;
      });
    }

    /* as the visit list reads it (worker_visits.js: with the road beside it, its number) */
    function buildingTitle(p) {
      return (App.visitTitle && App.visitTitle(p.building_id)) || p.title || T("unnamed_building");
    }

    function loadCases() {
      if (!state.user) return Promise.resolve();
      var q = OPEN.map(function (s) {
        return "status=" + s;
      }).join("&");
      state.timing = { requested: performance.now() };
      return W.api("GET", "/api/cases?page_size=200&" + q).then(function (r) {
        state.timing.received = performance.now();
        if (r.status === 0 && state.cases.length) return; // offline: the list drawn stays
        if (r.status === 0 && !remembered(LIST)) return;
        if (r.status === 404) return W.status(T("cases_missing"), "error");
        if (!r.ok && r.status !== 0) return W.status(T("failed") + W.detail(r), "error");
        state.cases = r.ok ? r.data.items : remembered(LIST);
        if (r.ok) sessionStorage.setItem(LIST, JSON.stringify(state.cases));
        if (!state.filter) {
          var own = state.cases.some(function (c) {
            return inFilter(c, "mine");
          });
          state.filter = own ? "mine" : "grids";
        }
        showCases();
      });
    }
    state.reload = loadCases;

    function inFilter(c, filter) {
      var user = state.user;
      var codes = user.grid_codes || [];
      var own = !!user.worker_id && c.assignee === user.worker_id;
      var grid = !codes.length || codes.indexOf(c.grid_code) >= 0;
      if (filter === "mine") return own;
      if (filter === "grids") return grid || own;
      return c.overdue && (grid || own);
    }

    /* whether this user may take the case: not when it is another worker's */
    App.takeable = function (c) {
      var user = state.user;
      if (!c.assignee || TAKERS.indexOf(user.role) >= 0) return true;
      return !!user.worker_id && c.assignee === user.worker_id;
    };

    function showFilters() {
      Array.prototype.forEach.call(document.querySelectorAll("#filters [data-filter]"), function (b) {
        var key = b.getAttribute("data-filter");
        b.setAttribute("aria-pressed", String(key === state.filter));
        b.querySelector(".count").textContent = String(
          state.cases.filter(function (c) {
            return inFilter(c, key);
          }).length
        );
      });
    }

    function showCases() {
      layers.cases.clearLayers();
      var list = $("case-list");
      var shown = state.cases.filter(function (c) {
        return inFilter(c, state.filter);
      });
      var items = document.createDocumentFragment();
      if (!shown.length) items.appendChild(W.el("li", { class: "empty", text: T("no_cases") }));
      shown.forEach(function (c) {
        items.appendChild(card(c));
        marker(c);
      });
      list.textContent = "";
      list.appendChild(items);
      showFilters();
      requestAnimationFrame(function () {
        state.timing.drawn = performance.now();
        state.timing.count = shown.length;
        document.body.dataset.casesDrawn = String(shown.length);
      });
    }

    function marker(c) {
      if (c.lat === null || c.lon === null) return;
      L.circleMarker([c.lat, c.lon], {
        renderer: markers,
        radius: 9,
        color: c.overdue ? config.overdueColour : "#fff",
        weight: c.overdue ? 3 : 1.5,
        fillColor: config.statusColours[c.status] || "#555",
        fillOpacity: 0.9,
      })
        .bindTooltip(W.el("span", { text: "#" + c.id + " " + (c.category_name || c.category) }))
        .on("click", function () {
          App.openDetail(state, c);
        })
        .addTo(layers.cases);
    }

    function card(c) {
      var who = c.assignee ? c.assignee_name || c.assignee : T("unassigned");
      var actions = [];
      if ((c.allowed || []).indexOf("accept") >= 0 && App.takeable(c)) {
        actions.push(W.el("button", { type: "button", class: "primary", "data-action": "accept", text: T("accept") }));
      }
      actions.push(W.el("button", { type: "button", class: "open", text: T("details") }));
      var li = W.el("li", { "data-case": String(c.id), class: c.overdue ? "overdue" : "" }, [
        W.el("div", { class: "card-head" }, [
          W.el("b", { text: "#" + c.id + " " + (c.category_name || c.category) }),
          W.el("span", { class: "chip status-" + c.status, text: T("status_" + c.status) }),
        ]),
        W.el("div", { class: "meta grid-name", text: App.gridName(c.grid_code) }),
        W.el("div", { class: "meta assignee", text: T("assignee") + "：" + who }),
        W.el("div", { class: "meta" }, [
          T("due") + "：" + App.when(c.due_at),
          c.overdue ? W.el("span", { class: "late", text: " · " + T("overdue") }) : "",
        ]),
        W.el("p", { class: "desc", text: c.description || c.address || "" }),
        W.el("div", { class: "actions" }, actions),
      ]);
      li.addEventListener("click", function (event) {
        var action = event.target.getAttribute && event.target.getAttribute("data-action");
        if (action === "accept") return state.send(c, { kind: "step", body: { action: "accept", version: c.version } });
        App.openDetail(state, c);
      });
      return li;
    }

    Array.prototype.forEach.call(document.querySelectorAll("#filters [data-filter]"), function (b) {
      b.addEventListener("click", function () {
        state.filter = b.getAttribute("data-filter");
        showCases();
      });
    });

    if (config.serviceWorker && "serviceWorker" in navigator) {
      navigator.serviceWorker.register(config.serviceWorker, { scope: "/map/worker" }).catch(function () {
        return null; // without it the page still works online
      });
    }
    setInterval(function () {
      if (outbox.items().length) outbox.flush();
    }, 15000);
    showOutbox(outbox.items());
    W.setupSignIn(load);
  });
})();
