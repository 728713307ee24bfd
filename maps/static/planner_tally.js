/* Planner helpers: grids named for people, household tallies computed in the browser (also for a
   move not yet confirmed by the server), the table of grids in view and the household labels. */
(function () {
  "use strict";
  var W = window.wangge;
  var P = (W.plannerParts = W.plannerParts || {});

  /* 瑞祥社区第3网格 / 瑞祥社区第3网格第2微网格; the code stays in the details */
  P.gridName = function (config, code) {
    if (!code) return "";
    var community = config.communities[code.slice(0, 12)] || code.slice(0, 12);
    community = community.replace(/(居民委员会|居委会)$/, ""); // 大行宫社区居委会 → 大行宫社区
    var grid = W.T("grid_name", { community: community, n: parseInt(code.slice(12, 15), 10) });
    if (code.length <= 15) return grid;
    return W.T("micro_name", { grid: grid, n: parseInt(code.slice(15), 10) });
  };

  /* signed distance from the bounds: negative under, positive over, 0 within */
  P.deviation = function (bounds, level, households) {
    var b = bounds[level] || bounds.grid;
    return households < b[0] ? households - b[0] : households > b[1] ? households - b[1] : 0;
  };

  /* households of every polygon of `level` in `features` once buildings `move.ids` are in
     `move.to` (members: [[building_id, households in this polygon], …]) */
  P.tally = function (features, level, move) {
    var counts = {};
    var ids = move && move.to ? move.ids : null;
    features.forEach(function (f) {
      var p = f.properties;
      if (p.level !== level) return;
      var h = p.households;
      if (ids && p.code !== move.to) {
        (p.members || []).forEach(function (m) {
          if (ids.has(m[0])) h -= m[1];
        });
      }
      counts[p.code] = h;
    });
    if (ids && move.to in counts) {
      features.forEach(function (f) {
        var p = f.properties;
        if (p.level !== level || p.code === move.to) return;
        (p.members || []).forEach(function (m) {
          if (ids.has(m[0])) counts[move.to] += m[1];
        });
      });
    }
    return counts;
  };

  var COLUMNS = ["name", "households", "micro", "deviation", "status", "workers"];

  /* the table of grids in view; rows: {code, name, level, households, before, micro,
     deviation, status, workers, bounds (LatLngBounds)} */
  P.Table = function (table, onPick) {
    var sort = { key: "name", dir: 1 };
    var rows = [];

    function value(row, key) {
      return key === "name" ? row.code : row[key];
    }

    function draw() {
      rows.sort(function (a, b) {
        var x = value(a, sort.key), y = value(b, sort.key);
        return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
      });
      table.innerHTML = "";
      var head = W.el("tr", {}, COLUMNS.map(function (key) {
        var mark = sort.key === key ? (sort.dir > 0 ? " ▲" : " ▼") : "";
        return W.el("th", {
          "data-key": key,
          text: W.T("col_" + key) + mark,
          onclick: function () {
            sort = { key: key, dir: sort.key === key ? -sort.dir : 1 };
            draw();
          },
        });
      }));
      table.appendChild(W.el("thead", {}, [head]));
      var body = W.el("tbody");
      rows.forEach(function (row) {
        var households = String(row.households);
        if (row.before !== row.households) households = row.before + "→" + row.households;
        var tr = W.el("tr", { "data-code": row.code, class: row.status + (row.before !== row.households ? " pending" : "") }, [
          W.el("td", { text: row.name, title: row.code }),
          W.el("td", { class: "num", text: households }),
          W.el("td", { class: "num", text: row.level === "grid" ? String(row.micro) : "–" }),
          W.el("td", { class: "num", text: row.deviation > 0 ? "+" + row.deviation : String(row.deviation) }),
          W.el("td", { text: W.T(row.status) }),
          W.el("td", { text: row.workers || "–" }),
        ]);
        tr.addEventListener("click", function () {
          onPick(row);
        });
        body.appendChild(tr);
      });
      table.appendChild(body);
    }

    return {
      show: function (next) {
        rows = next;
        draw();
      },
      rows: function () {
        return rows;
      },
    };
  };

  /* household labels on the polygons of the level shown, from `minZoom` on */
  P.Labels = function (map, minZoom) {
    var group = L.layerGroup().addTo(map);
    return {
      show: function (rows) {
        group.clearLayers();
        if (map.getZoom() < minZoom) return;
        var view = map.getBounds();
        rows.forEach(function (row) {
          if (!row.center || !view.contains(row.center)) return;
          var text = row.before !== row.households ? row.before + "→" + row.households : String(row.households);
          var html = W.el("span", { class: "grid-label " + row.status, text: text });
          var icon = L.divIcon({ className: "grid-label-icon", html: html, iconSize: null });
          group.addLayer(L.marker(row.center, { icon: icon, interactive: false, keyboard: false }));
        });
      },
      group: group,
    };
  };
})();
