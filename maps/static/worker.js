/* Grid worker page: after sign-in, the worker's grids, buildings and open cases; actions go to
   POST /api/cases/{id}/transitions. */
(function () {
  "use strict";
  var W = window.wangge;
  var T = function (k, v) {
    return W.T(k, v);
  };
  var ACTIONS = ["accept", "start", "note", "resolve", "escalate"];
  var OPEN = ["reported", "dispatched", "accepted", "in_progress", "escalated_community"];

  W.register("worker", function (map, layers, config) {
    var state = { user: null, cases: [] };
    W.workerPage = state;

    function clear() {
      ["grids", "buildings", "cases"].forEach(function (k) {
        layers[k].clearLayers();
      });
      document.getElementById("case-list").innerHTML = "";
      document.getElementById("my-grids").textContent = "";
    }

    function mine(p, codes) {
      return codes.indexOf(p.code) >= 0 || codes.indexOf(p.parent_code) >= 0;
    }

    function load(user) {
      clear();
      state.user = user;
      if (!user) return;
      var codes = user.grid_codes || [];
      document.getElementById("my-grids").textContent = codes.join(", ") || "–";
      var community = user.community_code || (codes[0] || "").slice(0, 12);
      if (!community) return;
      var q = "?community=" + community;
      Promise.all([W.api("GET", "/api/grids" + q), W.api("GET", "/api/buildings" + q)]).then(
        function (r) {
          if (!r[0].ok) return W.status(T("failed") + W.detail(r[0]), "error");
          var grids = r[0].data.features.filter(function (f) {
            return mine(f.properties, codes);
          });
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
            return W.el("span", { text: p.code + " · " + p.households + " " + T("households") });
          });
          layers.grids.addLayer(drawn);
          if (grids.length) map.fitBounds(drawn.getBounds(), { maxZoom: 18 });
          if (r[1].ok) {
            r[1].data.features.forEach(function (f) {
              var p = f.properties;
              if (!members[p.building_id]) return;
              var c = f.geometry.coordinates;
              L.circleMarker([c[1], c[0]], { radius: 4, color: "#555", weight: 1, fillOpacity: 0.7 })
                .bindTooltip(W.el("span", { text: (p.title || T("unnamed_building")) + " · " + p.households + " " + T("households") }))
                .addTo(layers.buildings);
            });
          }
        }
      );
      loadCases();
    }

    function loadCases() {
      var q = OPEN.map(function (s) {
        return "status=" + s;
      }).join("&");
      return W.api("GET", "/api/cases?page_size=200&" + q).then(function (r) {
        if (r.status === 404) return W.status(T("cases_missing"), "error");
        if (!r.ok) return W.status(T("failed") + W.detail(r), "error");
        var codes = state.user.grid_codes || [];
        state.cases = r.data.items.filter(function (c) {
          return !codes.length || codes.indexOf(c.grid_code) >= 0 || c.assignee === state.user.worker_id;
        });
        showCases();
      });
    }

    function showCases() {
      layers.cases.clearLayers();
      var list = document.getElementById("case-list");
      list.innerHTML = "";
      if (!state.cases.length) list.appendChild(W.el("li", { text: T("no_cases") }));
      state.cases.forEach(function (c) {
        var colour = config.statusColours[c.status] || "#555";
        if (c.lat !== null && c.lon !== null) {
          L.circleMarker([c.lat, c.lon], {
            radius: 8,
            color: c.overdue ? config.overdueColour : "#fff",
            weight: c.overdue ? 3 : 1.5,
            fillColor: colour,
            fillOpacity: 0.9,
          }).bindTooltip(W.el("span", { text: "#" + c.id + " " + (c.category_name || c.category) })).on("click", function () {
            var item = document.querySelector('[data-case="' + c.id + '"]');
            if (item) item.scrollIntoView({ block: "nearest" });
          }).addTo(layers.cases);
        }
        var allowed = c.allowed || ACTIONS;
        var note = W.el("input", { placeholder: T("note"), class: "note" });
        var buttons = ACTIONS.filter(function (a) {
          return allowed.indexOf(a) >= 0;
        }).map(function (a) {
          return W.el("button", {
            type: "button",
            "data-action": a,
            text: T(a === "note" ? "update" : a),
            onclick: function () {
              act(c, a, note.value);
            },
          });
        });
        var due = c.due_at ? new Date(c.due_at).toLocaleString(config.lang === "en" ? "en" : "zh-CN") : "–";
        list.appendChild(W.el("li", { "data-case": String(c.id), class: c.overdue ? "overdue" : "" }, [
          W.el("b", { text: "#" + c.id + " " + (c.category_name || c.category) }),
          W.el("br"),
          T("status") + ": " + T("status_" + c.status) + " · " + T("due") + ": " + due +
            (c.overdue ? " · " + T("overdue") : ""),
          W.el("br"),
          c.description || c.address || "",
          W.el("div", {}, [note].concat(buttons)),
        ]));
      });
    }

    function act(c, action, note) {
      W.api("POST", "/api/cases/" + c.id + "/transitions", {
        action: action,
        version: c.version,
        note: note || null,
      }).then(function (r) {
        if (!r.ok) {
          var allowed = r.data && r.data.allowed ? " (" + r.data.allowed.join(", ") + ")" : "";
          W.status(T("failed") + W.detail(r) + allowed, "error");
          return loadCases();
        }
        W.status("#" + c.id + " → " + T("status_" + r.data.status), "ok");
        loadCases();
      });
    }

    W.setupSignIn(load);
  });
})();
