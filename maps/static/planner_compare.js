/* Planner page: compare two layer versions (or the draft, or a regenerated alternative) side by
   side or overlaid, with the household deltas, moved buildings and changed boundaries drawn;
   export the layer or the draft as a file; import a file as a draft (not saved until Save).
   Talks to /api/grids/compare, /api/grids/export and /api/grids/import. */
(function () {
  "use strict";
  var W = window.wangge;
  var T = function (k, v) {
    return W.T(k, v);
  };
  var SIDE = { // the two synced maps cover the page's map while compared side by side
    holder: "position:absolute;inset:0;z-index:1000;display:flex;gap:3px;background:#444",
    pane: "flex:1;height:100%;background:#f2efe9",
    label: "position:absolute;top:8px;left:50%;transform:translateX(-50%);z-index:1000;" +
      "background:#fff;padding:2px 10px;border-radius:4px;font-weight:bold;box-shadow:0 1px 4px #0004",
  };
  var STYLE = {
    a: { color: "#555", weight: 2, fill: false, dashArray: "5 4" },
    b: { color: "#212529", weight: 2.5, fillColor: "#212529", fillOpacity: 0.04 },  // not the purple of 户数超出
    // cyan and magenta: apart from the households scale and the problems' red and amber
    boundary: { color: "#0b7285", weight: 1, fillColor: "#22b8cf", fillOpacity: 0.55 },
    building: { color: "#555", weight: 0.6, fillColor: "#9a9a9a", fillOpacity: 0.6 },
    moved: { radius: 6, color: "#c2255c", weight: 2, fillColor: "#ffd43b", fillOpacity: 1 },
  };

  function start(map, config) {
    var planner = W.planner;
    var overlay = L.layerGroup();
    var side = null; // {box, maps: [a, b]} while compared side by side
    var last = null; // the last comparison answer
    var box = panel();
    document.getElementById("panel").insertBefore(box, document.getElementById("status"));

    function community() {
      var s = planner && planner.state;
      return (s && s.community) || config.selected.community || null;
    }

    function swatch(css) {
      return W.el("span", { style: "display:inline-block;width:12px;height:12px;margin-right:3px;" +
        "vertical-align:middle;box-sizing:border-box;" + css });
    }

    function option(value, label) {
      return W.el("option", { value: value, text: label });
    }

    function panel() {
      var select = function (id) {
        return W.el("select", { id: id });
      };
      var formats = W.el("select", { id: "export-format" }, ["geojson", "gpkg", "csv"].map(
        function (f) {
          return option(f, T("fmt_" + f));
        }));
      return W.el("details", { id: "compare-box" }, [
        W.el("summary", { text: T("cmp_title") }),
        W.el("div", { class: "compare-pick" }, [
          W.el("label", {}, [T("cmp_a") + " ", select("compare-a")]),
          W.el("label", {}, [T("cmp_b") + " ", select("compare-b")]),
        ]),
        W.el("div", { class: "buttons" }, [
          W.el("label", {}, [W.el("input", { type: "radio", name: "compare-mode", value: "overlay",
            checked: "" }), " " + T("cmp_overlay")]),
          W.el("label", {}, [W.el("input", { type: "radio", name: "compare-mode", value: "side" }),
            " " + T("cmp_side")]),
          W.el("button", { type: "button", id: "btn-compare", class: "primary",
            text: T("cmp_run"), onclick: run }),
          W.el("button", { type: "button", id: "btn-compare-close", text: T("cmp_close"),
            onclick: close }),
        ]),
        W.el("p", { id: "compare-summary", class: "hint" }),
        W.el("p", { id: "compare-legend", class: "hint" }, [
          swatch("border:2px dashed " + STYLE.a.color), T("cmp_layer_a") + "　",
          swatch("border:2px solid " + STYLE.b.color), T("cmp_layer_b") + "　",
          swatch("background:" + STYLE.boundary.fillColor), T("cmp_changed_land") + "　",
          swatch("border-radius:50%;border:2px solid " + STYLE.moved.color + ";background:" +
            STYLE.moved.fillColor), T("cmp_moved_building"),
        ]),
        W.el("table", { id: "compare-table", class: "numbers" }),
        W.el("ul", { id: "compare-moved" }),
        W.el("h2", { text: T("cmp_files") }),
        W.el("div", { class: "buttons" }, [
          W.el("label", {}, [T("export_format") + " ", formats]),
          W.el("button", { type: "button", id: "btn-export", text: T("export"),
            onclick: exportLayer }),
        ]),
        W.el("div", { class: "buttons" }, [
          W.el("input", { type: "file", id: "import-file", accept: ".geojson,.json,.gpkg,.csv" }),
          W.el("button", { type: "button", id: "btn-import", text: T("import"),
            onclick: importFile }),
        ]),
      ]);
    }

    box.addEventListener("toggle", function () {
      if (box.open) fillVersions();
    });

    function fillVersions() {
      var code = community();
      var a = document.getElementById("compare-a");
      var b = document.getElementById("compare-b");
      if (!code) return W.status(T("cmp_pick_community"), "error");
      return W.api("GET", "/api/grids/history?community=" + encodeURIComponent(code)).then(
        function (r) {
          if (!r.ok) return W.status(T("failed") + W.detail(r), "error");
          a.innerHTML = "";
          b.innerHTML = "";
          var versions = r.data.versions.slice().reverse();
          versions.forEach(function (v) {
            var when = new Date(v.valid_from).toLocaleString(config.lang === "en" ? "en" : "zh-CN");
            var label = T("cmp_version", { v: v.version }) + (v.current ? " · " + T("cmp_current") : "") +
              " · " + when;
            a.appendChild(option(String(v.version), label));
            b.appendChild(option(v.current ? "" : String(v.version), label));
          });
          var s = planner && planner.state;
          if (s && s.dirty && s.fc) b.insertBefore(option("draft", T("cmp_draft")), b.firstChild);
          b.appendChild(option("regenerate", T("cmp_regenerated")));
          if (versions.length > 1) a.value = String(versions[1].version);
          b.selectedIndex = 0;
        }
      );
    }

    function mode() {
      var checked = document.querySelector("input[name=compare-mode]:checked");
      return checked ? checked.value : "overlay";
    }

    function run() {
      var code = community();
      if (!code) return W.status(T("cmp_pick_community"), "error");
      var a = document.getElementById("compare-a").value;
      var b = document.getElementById("compare-b").value;
      var body = { community: code, a: a ? parseInt(a, 10) : null };
      if (b === "draft") body.features = planner.state.fc;
      else if (b === "regenerate") body.regenerate = true;
      else if (b) body.b = parseInt(b, 10);
      W.status(T("cmp_loading"));
      return W.api("POST", "/api/grids/compare", body).then(function (r) {
        if (!r.ok) return W.status(T("failed") + W.detail(r), "error");
        last = r.data;
        show(r.data);
        W.status("");
      });
    }

    function label(side) {
      var v = side.version;
      if (side.label === "draft") return T("cmp_draft");
      if (side.label === "regenerated") return T("cmp_regenerated");
      return v ? T("cmp_version", { v: v }) : T("cmp_current");
    }

    function show(data) {
      clearDrawn();
      // grids' boundaries only: a move re-divides micro-grids, whose outlines would drown it
      data.boundaries = gridLevel(data.boundaries);
      var grids = data.grids.filter(function (g) {
        return g.level === "grid" && g.change !== "same";
      });
      grids.sort(function (x, y) {
        return Math.abs(y.delta) - Math.abs(x.delta) || (x.code < y.code ? -1 : 1);
      });
      var moved = data.moved.features;
      var households = moved.reduce(function (n, f) {
        return n + f.properties.households;
      }, 0);
      var summary = document.getElementById("compare-summary");
      summary.textContent = label(data.a) + " → " + label(data.b) + "：" + (grids.length || moved.length ||
        data.boundaries.features.length ? T("cmp_summary", { grids: grids.length, moved: moved.length,
          households: households, boundaries: data.boundaries.features.length }) : T("cmp_no_change"));
      table(grids, data);
      movedList(moved);
      if (mode() === "side") sideBySide(data);
      else drawOn(overlay.addTo(map), data, "both");
      showChanges(data);
    }

    /* the changed land and moved buildings in view (the whole changes, at most street level) */
    function showChanges(data) {
      var changed = data.boundaries.features.concat(data.moved.features);
      if (!changed.length) return;
      var bounds = L.geoJSON({ type: "FeatureCollection", features: changed }).getBounds();
      var target = side ? side.maps[0] : map;
      if (!target.getBounds().contains(bounds)) target.fitBounds(bounds.pad(0.3), { maxZoom: 18 });
    }

    function table(grids, data) {
      var t = document.getElementById("compare-table");
      t.innerHTML = "";
      if (!grids.length) return;
      t.appendChild(W.el("tr", {}, [T("cmp_grid"), label(data.a), label(data.b), T("cmp_delta")].map(
        function (h) {
          return W.el("th", { text: h });
        })));
      grids.forEach(function (g) {
        var delta = g.change === "added" ? T("cmp_added") : g.change === "removed" ? T("cmp_removed") :
          (g.delta > 0 ? "+" : "") + g.delta;
        var row = W.el("tr", { "data-code": g.code, title: g.code }, [
          W.el("td", { text: g.name }),
          W.el("td", { text: g.households_a === null ? "–" : String(g.households_a) }),
          W.el("td", { text: g.households_b === null ? "–" : String(g.households_b) }),
          W.el("td", { class: g.delta > 0 ? "up" : g.delta < 0 ? "down" : "", text: delta }),
        ]);
        row.addEventListener("click", function () {
          zoomTo(g.code);
        });
        t.appendChild(row);
      });
    }

    function movedList(moved) {
      var list = document.getElementById("compare-moved");
      list.innerHTML = "";
      if (!moved.length) return;
      list.appendChild(W.el("li", { class: "head", text: T("cmp_moved", { n: moved.length }) }));
      moved.slice(0, 50).forEach(function (f) {
        var p = f.properties;
        list.appendChild(W.el("li", { title: p.from_code + " → " + p.to_code, text: T("cmp_building_moved",
          { id: p.title || p.building_id, from: p.from_name, to: p.to_name, h: p.households }) }));
      });
    }

    function gridLevel(fc) {
      return { type: "FeatureCollection", features: fc.features.filter(function (f) {
        return f.properties.level === "grid";
      }) };
    }

    /* which: "a", "b" or "both" layers, with the changes on top */
    function drawOn(group, data, which) {
      if (which !== "b") L.geoJSON(gridLevel(data.layers.a), { style: STYLE.a, interactive: false }).addTo(group);
      if (which !== "a") L.geoJSON(gridLevel(data.layers.b), { style: STYLE.b, interactive: false }).addTo(group);
      L.geoJSON(data.boundaries, {
        style: STYLE.boundary,
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindTooltip(W.el("span", { text: T("cmp_boundary", { name: p.name,
            gained: Math.round(p.gained_m2), lost: Math.round(p.lost_m2) }) }));
        },
      }).addTo(group);
      L.geoJSON(data.moved, {
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, Object.assign({ className: "compare-moved" }, STYLE.moved));
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindTooltip(W.el("span", { text: T("cmp_building_moved",
            { id: p.title || p.building_id, from: p.from_name, to: p.to_name, h: p.households }) }));
        },
      }).addTo(group);
      return group;
    }

    function sideBySide(data) {
      var container = map.getContainer();
      var holder = W.el("div", { id: "compare-side", class: "compare-side", style: SIDE.holder });
      var panes = ["a", "b"].map(function (k) {
        var pane = W.el("div", { class: "compare-pane", id: "compare-pane-" + k, style: SIDE.pane }, [
          W.el("div", { class: "compare-label", style: SIDE.label,
            text: (k === "a" ? T("cmp_a") : T("cmp_b")) + " · " + label(data[k]) }),
        ]);
        holder.appendChild(pane);
        return pane;
      });
      container.appendChild(holder);
      L.DomEvent.disableClickPropagation(holder);
      L.DomEvent.disableScrollPropagation(holder);
      var maps = panes.map(function (pane, k) {
        var m = L.map(pane, { zoomControl: k === 0, attributionControl: false, maxZoom: 20 })
          .setView(map.getCenter(), map.getZoom());
        var group = L.layerGroup().addTo(m);
        var buildings = W.layers.buildings;
        if (buildings && buildings.toGeoJSON) { // the footprints, for bearings
          L.geoJSON(buildings.toGeoJSON(), { style: STYLE.building, interactive: false }).addTo(group);
        }
        drawOn(group, data, k === 0 ? "a" : "b");
        L.control.scale({ imperial: false }).addTo(m);
        return m;
      });
      var syncing = false;
      maps.forEach(function (m, k) {
        m.on("move", function () {
          if (syncing) return;
          syncing = true;
          maps[1 - k].setView(m.getCenter(), m.getZoom(), { animate: false });
          syncing = false;
        });
      });
      side = { box: holder, maps: maps };
      W.compare.side = side;
    }

    function zoomTo(code) {
      if (!last) return;
      var feature = last.layers.b.features.concat(last.layers.a.features).filter(function (f) {
        return f.properties.code === code;
      })[0];
      if (!feature) return;
      var bounds = L.geoJSON(feature).getBounds();
      (side ? side.maps[0] : map).fitBounds(bounds, { maxZoom: 18 });
    }

    function clearDrawn() {
      overlay.clearLayers();
      map.removeLayer(overlay);
      if (side) {
        side.maps.forEach(function (m) {
          m.remove();
        });
        side.box.remove();
        side = null;
        W.compare.side = null;
      }
    }

    function close() {
      clearDrawn();
      last = null;
      document.getElementById("compare-summary").textContent = "";
      document.getElementById("compare-table").innerHTML = "";
      document.getElementById("compare-moved").innerHTML = "";
    }

    // -- files --------------------------------------------------------------------------------

    function authorized(init) {
      var token = W.token();
      init.headers = init.headers || {};
      if (token) init.headers.Authorization = "Bearer " + token;
      return init;
    }

    function filename(response, fallback) {
      var header = response.headers.get("Content-Disposition") || "";
      var utf8 = /filename\*=UTF-8''([^;]+)/i.exec(header);
      if (utf8) return decodeURIComponent(utf8[1]);
      var plain = /filename="([^"]+)"/i.exec(header);
      return plain ? plain[1] : fallback;
    }

    function failure(response) {
      return response.text().then(function (raw) {
        var detail = raw;
        try {
          detail = JSON.parse(raw).detail || raw;
        } catch (e) { /* not JSON: the text itself */ }
        if (typeof detail !== "string") detail = JSON.stringify(detail);
        W.status(T("failed") + detail, "error");
      });
    }

    function exportLayer() {
      var code = community();
      if (!code) return W.status(T("cmp_pick_community"), "error");
      var format = document.getElementById("export-format").value;
      var s = planner && planner.state;
      var request = s && s.dirty && s.fc && s.community === code ?
        fetch("/api/grids/export", authorized({ method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ community: code, format: format, features: s.fc }) })) :
        fetch("/api/grids/export?" + new URLSearchParams({ community: code, format: format }),
          authorized({}));
      return request.then(function (response) {
        if (!response.ok) return failure(response);
        var name = filename(response, "wangge-" + code + "." + format);
        return response.blob().then(function (blob) {
          var link = W.el("a", { href: URL.createObjectURL(blob), download: name });
          document.body.appendChild(link);
          link.click();
          link.remove();
          setTimeout(function () {
            URL.revokeObjectURL(link.href);
          }, 10000);
          W.status(T("exported", { name: name }), "ok");
        });
      });
    }

    function importFile() {
      var code = community();
      if (!code) return W.status(T("cmp_pick_community"), "error");
      var input = document.getElementById("import-file");
      if (!input.files.length) return W.status(T("import_pick"), "error");
      var file = input.files[0];
      var form = new FormData();
      form.append("community", code);
      form.append("file", file);
      W.status(T("checking"));
      return fetch("/api/grids/import", authorized({ method: "POST", body: form })).then(
        function (response) {
          if (!response.ok) return failure(response);
          return response.json().then(function (data) {
            return planner.loadDraft(code, data).then(function () {
              W.status(T("imported", { name: file.name }) + (data.ok ? "" : " · " +
                T("imported_problems")), data.ok ? "ok" : "warning");
            });
          });
        }
      );
    }

    W.compare = { run: run, close: close, fill: fillVersions, side: null };
  }

  /* after the planner's own script has set up W.planner */
  W.drawn.then(function () {
    if (W.page === "planner" && W.planner) start(W.map, W.config);
  });
})();
