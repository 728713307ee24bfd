/* Planner page: select grids at the level shown, edit one community's layer through
   /api/grids/* (moves by click, brush and lasso, boundary handles, split, merge …), live tallies
   before the server answers (planner_tally.js), undo/redo inside the session (planner_tools.js),
   the validator's problems on the map before saving, labelled history with a diff, undo. */
(function () {
  "use strict";
  var W = window.wangge;
  var T = function (k, v) {
    return W.T(k, v);
  };

  W.register("planner", function (map, layers, config) {
    var P = W.plannerParts;
    var state = {
      level: "grid", // the level shown, selected and tallied: "grid" or "micro"
      problems: null, // the validator's last answer for the edited layer
      pending: null, // building ids a brush stroke is painting (not yet sent)
      session: P.Session(), // undo/redo inside the editing session
      community: null, // the community whose layer is being edited
      fc: null, // its layer as edited (FeatureCollection, both levels)
      baseVersion: null,
      dirty: false,
      selection: [], // selected codes (grid or micro level)
      buildings: new Set(), // selected building ids (for a move)
      buildingPoints: null, // building_id → [lat, lng] of the edited community
      handlesFor: null, // grid code whose boundary handles are shown
      drawFor: null, // grid code a drawn polygon is for
      user: null, // the signed-in planner (edits need one)
    };
    var editLayer = L.geoJSON(null, { style: featureStyle, onEachFeature: bindFeature }).addTo(map);
    var colours = config.problemColours; // errors red, warnings amber
    var problemLayer = L.geoJSON(null, {
      interactive: false, // the areas do not take the clicks meant for the grids beneath
      style: function (f) {
        // a warning is an outline only, so the grid's households colour is seen unchanged
        var warn = f.properties.severity === "warning";
        var c = colours[f.properties.severity] || colours.error;
        return { color: c, weight: 3, fill: !warn, fillColor: c, fillOpacity: 0.35, dashArray: "4 3" };
      },
      pointToLayer: function (f, latlng) {
        var c = colours[f.properties.severity] || colours.error;
        return L.circleMarker(latlng, { radius: 8, color: c, fillOpacity: 0.6, interactive: true });
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(W.el("span", { text: problemText(f.properties) }));
      },
    }).addTo(map);
    var diffLayer = L.geoJSON(null, {
      style: { color: "#7b2cbf", weight: 2, fill: false, dashArray: "6 4" },
    }).addTo(map);
    var handleLayer = L.layerGroup().addTo(map);
    W.planner = { state: state, editLayer: editLayer, problemLayer: problemLayer,
      diffLayer: diffLayer, handleLayer: handleLayer };
    W.localiseDraw(map); // Leaflet.draw's hints and buttons in the page's language

    function name(code) {
      return P.gridName(config, code);
    }

    // the server's message, led by the grid's name unless the message names it already
    function problemText(p) {
      var message = p.message || "", who = p.code ? name(p.code) : "";
      return who && message.indexOf(who) < 0 ? who + "：" + message : message;
    }

    // households on their own colour scale; at the micro level the grids are outlines only
    function featureStyle(f) {
      var p = f.properties;
      var style = W.gridStyle(config.styles, config.bounds, p);
      if (p.level !== state.level) {
        style = p.level === "grid"
          ? Object.assign({}, style, { fill: false, color: "#333", weight: 3, opacity: 0.8 })
          : Object.assign({}, style, { fill: false, color: "#777", opacity: 0.6 });
      } else if (p.level === "micro") {
        style = Object.assign({}, style, { fillOpacity: 0.35, weight: 1.2, dashArray: null });
      }
      if (state.selection.indexOf(p.code) >= 0) {
        // the selection in black: yellow would read as the amber of a warning
        style = Object.assign({}, style, { color: "#111", weight: 4, opacity: 1 });
      }
      return style;
    }

    // -- selection and the info box -----------------------------------------------------------

    function props(code) {
      var found = null;
      eachFeature(function (p) {
        if (p.code === code) found = p;
      });
      return found;
    }

    function eachFeature(fn) {
      if (state.fc) state.fc.features.forEach(function (f) {
        fn(f.properties, f);
      });
      ["grids", "micro_grids"].forEach(function (k) {
        var layer = layers[k];
        if (layer && layer.eachLayer) layer.eachLayer(function (l) {
          if (l.feature && l.feature.properties.community_code !== state.community) {
            fn(l.feature.properties, l.feature);
          }
        });
      });
    }

    var tileHighlighted = []; // codes drawn highlighted on vector-tile layers

    function tileStyle(props) {
      return featureStyle({ properties: props });
    }

    function restyle() {
      ["grids", "micro_grids"].forEach(function (k) {
        var layer = layers[k];
        if (layer && layer.setStyle) {
          layer.setStyle(function (f) {
            return featureStyle(f);
          });
        } else if (layer && layer.setFeatureStyle) {
          tileHighlighted.forEach(function (code) {
            if (state.selection.indexOf(code) < 0) layer.resetFeatureStyle(code);
          });
          state.selection.forEach(function (code) {
            layer.setFeatureStyle(code, tileStyle);
          });
        }
      });
      tileHighlighted = state.selection.slice();
      editLayer.setStyle(featureStyle);
      order();
    }

    // vector tiles take the level's styles on their next drawing
    function restyleTiles() {
      ["grids", "micro_grids"].forEach(function (k) {
        var layer = layers[k];
        if (!layer || !layer.options || !layer.options.vectorTileLayerStyles) return;
        layer.options.vectorTileLayerStyles[k] = tileStyle;
        layer.redraw();
      });
    }

    // the level shown lies on top, so its polygons take the clicks
    function order() {
      var top = state.level === "micro" ? "micro_grids" : "grids";
      if (layers[top] && layers[top].bringToFront) layers[top].bringToFront();
      editLayer.eachLayer(function (l) {
        if (l.feature.properties.level === state.level) l.bringToFront();
      });
      if (layers.buildings && layers.buildings.bringToFront) layers.buildings.bringToFront();
      problemLayer.bringToFront();
    }

    document.querySelectorAll("#level input[name=level]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (!input.checked) return;
        state.level = input.value;
        state.selection = [];
        restyleTiles();
        restyle();
        showInfo(null);
        refreshTally();
      });
    });

    function select(p, add) {
      if (!p) return;
      var code = p.code;
      if (add) {
        var i = state.selection.indexOf(code);
        if (i >= 0) state.selection.splice(i, 1);
        else state.selection.push(code);
      } else {
        state.selection = [code];
      }
      restyle();
      showInfo(p);
      refreshTally();
    }

    function showInfo(p) {
      var box = document.getElementById("info");
      box.innerHTML = "";
      if (!p) return;
      var b = config.bounds[p.level];
      var status = W.boundStatus(config.bounds, p.level, p.households);
      var gridCode = p.level === "micro" ? p.parent_code : p.code;
      var workers = config.workers[gridCode] || [];
      var micro = 0;
      eachFeature(function (q) {
        if (q.parent_code === p.code) micro += 1;
      });
      var rows = [
        [T("col_name"), name(p.code)],
        [T("code"), p.code],
        [T("level"), T(p.level === "grid" ? "grids" : "micro_grids")],
        [T("households"), p.households + " (" + T(status) + ")"],
        [T("bounds"), b[0] + "–" + b[1]],
        [T("members"), buildingCount(p)],
      ];
      if (p.level === "grid") rows.push([T("micro_grids"), micro]);
      if (p.locked) rows.push([T("locked"), "✓"]);
      if (state.selection.length > 1) rows.push(["✚", state.selection.map(name).join("、")]);
      var table = W.el("table", { class: "numbers" }, rows.map(function (r) {
        return W.el("tr", {}, [W.el("th", { text: r[0] }), W.el("td", { text: String(r[1]) })]);
      }));
      box.appendChild(table);
      box.appendChild(W.el("h3", { text: T("workers") }));
      var list = W.el("ul", { class: "workers" });
      workers.forEach(function (w) {
        list.appendChild(W.el("li", { text: w.name + " · " + T(w.role) }));
      });
      if (!workers.length) list.appendChild(W.el("li", { text: T("no_workers") }));
      box.appendChild(list);
    }

    function buildingCount(p) { // the edited layer's members, else the count the server sent
      if (p.members) return p.members.length;
      return p.building_count === undefined ? "–" : p.building_count;
    }

    function levelOf(p) {
      // at the grid level a click on a micro-grid selects its grid
      if (state.level === "grid" && p.level === "micro") return props(p.parent_code) || p;
      return p;
    }

    // a grid's name and households on hover (the code stays in the details), as a text node
    function tipGrid(l) {
      var p = l.feature && l.feature.properties;
      if (!p || !p.code) return;
      var text = name(p.code) + " · " + T("n_households", { n: p.households });
      l.bindTooltip(W.el("span", { text: text }), { sticky: true });
    }

    function bindFeature(feature, layer) {
      tipGrid(layer);
      layer.on("click", function (e) {
        L.DomEvent.stopPropagation(e);
        if (tools.mode()) return;
        var add = e.originalEvent && (e.originalEvent.shiftKey || e.originalEvent.ctrlKey);
        select(levelOf(feature.properties), add);
      });
    }

    ["grids", "micro_grids"].forEach(function (k) {
      var layer = layers[k];
      if (!layer) return;
      if (layer.eachLayer) layer.eachLayer(tipGrid);
      layer.on("click", function (e) {
        var p = e.layer && (e.layer.feature ? e.layer.feature.properties : e.layer.properties);
        if (!p || tools.mode()) return;
        var add = e.originalEvent && (e.originalEvent.shiftKey || e.originalEvent.ctrlKey);
        select(levelOf(p), add);
      });
    });

    // a building's name or address (never its id), as a text node
    if (layers.buildings && layers.buildings.eachLayer) {
      layers.buildings.eachLayer(function (l) {
        var p = l.feature && l.feature.properties;
        if (!p) return;
        var title = (p.title || T("unnamed_building")) + " · " + T("n_households", { n: p.households });
        l.bindTooltip(W.el("span", { text: title }));
      });
    }

    // community outlines: the name, and whether the boundary is approximate (text only)
    if (layers.communities && layers.communities.eachLayer) {
      layers.communities.eachLayer(function (l) {
        var p = l.feature.properties;
        var label = p.name + (p.boundary_source === "approximate" ? " · " + T("approximate_boundary") : "");
        l.bindTooltip(W.el("span", { text: label }), { sticky: true });
      });
    }

    if (layers.buildings) {
      layers.buildings.on("click", function (e) {
        var p = e.layer && (e.layer.feature ? e.layer.feature.properties : e.layer.properties);
        if (!p) return;
        L.DomEvent.stopPropagation(e);
        if (tools.mode()) return;
        // a click picks one building, a shift-click adds it (or takes it out again)
        var add = e.originalEvent && (e.originalEvent.shiftKey || e.originalEvent.ctrlKey);
        if (!add) state.buildings = new Set([p.building_id]);
        else if (state.buildings.has(p.building_id)) state.buildings.delete(p.building_id);
        else state.buildings.add(p.building_id);
        buildingsChanged();
        showBuilding(p.building_id, e.latlng);
      });
    }

    var buildingLayers = {}; // building_id → its footprint on the page
    if (layers.buildings && layers.buildings.eachLayer) {
      layers.buildings.eachLayer(function (l) {
        if (l.feature) buildingLayers[l.feature.properties.building_id] = l;
      });
    }
    var painted = []; // ids drawn highlighted

    function paintBuildings() {
      painted.forEach(function (id) {
        if (buildingLayers[id]) layers.buildings.resetStyle(buildingLayers[id]);
      });
      painted = [];
      var chosen = state.pending || state.buildings;
      chosen.forEach(function (id) {
        var l = buildingLayers[id];
        if (!l) return;
        l.setStyle(state.pending
          ? { fillColor: "#1f6feb", color: "#0b4ab8", fillOpacity: 0.8 }
          : { fillColor: "#f5b800", color: "#b38600", fillOpacity: 0.9 });
        painted.push(id);
      });
    }

    // the chosen buildings changed: highlight them and show the tallies they would give
    function buildingsChanged() {
      paintBuildings();
      var n = state.buildings.size;
      editState(n ? T("buildings_chosen", { n: n }) : null);
      var community = state.community || config.selected.community;
      if (community && !state.fc) ensureLayer(community).then(refreshTally);
      else refreshTally();
    }

    function clearBuildings() {
      state.buildings = new Set();
      state.pending = null;
      paintBuildings();
    }

    // a building's popup: name, households and where they come from (text nodes only)
    function showBuilding(id, latlng) {
      W.api("GET", "/api/buildings/" + encodeURIComponent(id)).then(function (r) {
        if (!r.ok) return;
        var b = r.data;
        var box = document.createElement("div");
        var rows = [
          [T("buildings"), b.title || b.name || b.address || T("unnamed_building")],
          [T("households"), String(b.households)],
          [T("households_source"), T("source_" + b.households_source)],
        ];
        if (b.households_rule) rows.push([T("households_rule"), b.households_rule]);
        rows.forEach(function (row) {
          var line = document.createElement("div");
          var label = document.createElement("b");
          label.textContent = row[0] + "：";
          line.appendChild(label);
          line.appendChild(document.createTextNode(row[1]));
          box.appendChild(line);
        });
        box.className = "building-popup";
        L.popup({ maxWidth: 280 }).setLatLng(latlng).setContent(box).openOn(map);
      });
    }

    // -- the edited community's layer ---------------------------------------------------------

    function communityOf(code) {
      var p = props(code);
      return (p && p.community_code) || config.selected.community || code.slice(0, 12);
    }

    function ensureLayer(community) {
      if (state.community === community && state.fc) return Promise.resolve(state.fc);
      if (state.dirty) discard();
      var q = "?community=" + encodeURIComponent(community);
      return Promise.all([
        W.api("GET", "/api/grids" + q),
        state.user ? W.api("GET", "/api/grids/history" + q) : Promise.resolve({ ok: false }),
        W.api("GET", "/api/buildings" + q),
      ]).then(function (r) {
        if (!r[0].ok) throw new Error(W.detail(r[0]));
        state.community = community;
        state.baseVersion = r[1].ok ? r[1].data.current_version : null;
        state.buildingPoints = {};
        if (r[2].ok) r[2].data.features.forEach(function (f) {
          var c = f.geometry.coordinates;
          state.buildingPoints[f.properties.building_id] = [c[1], c[0]];
        });
        hideInline(community);
        render(r[0].data);
        loadHistory();
        return state.fc;
      });
    }

    function hideInline(community) {
      ["grids", "micro_grids"].forEach(function (k) {
        var layer = layers[k];
        if (!layer || !layer.eachLayer) return;
        var drop = [];
        layer.eachLayer(function (l) {
          if (l.feature && l.feature.properties.community_code === community) drop.push(l);
        });
        drop.forEach(function (l) {
          layer.removeLayer(l);
        });
      });
    }

    function render(fc) {
      fc.features.forEach(function (f) {
        f.properties.community_code = state.community;
      });
      // micro-grids first so that grids' outlines lie on top
      fc.features.sort(function (a, b) {
        return (a.properties.level === "grid") - (b.properties.level === "grid");
      });
      state.fc = fc;
      editLayer.clearLayers();
      editLayer.addData(fc);
      // the level shown on top, buildings clickable above it, problems above everything
      order();
      var code = state.selection[0];
      showInfo(code ? props(code) : null);
      refreshTally();
    }

    function editState(message) {
      var box = document.getElementById("edit-state");
      box.textContent = message || (state.dirty ? T("unsaved") : T("no_changes"));
    }

    function showProblems(collection) {
      state.problems = collection || null;
      problemLayer.clearLayers();
      var list = document.getElementById("problem-list");
      list.innerHTML = "";
      var features = (collection && collection.features) || [];
      problemLayer.addData({ type: "FeatureCollection", features: features.filter(function (f) {
        return f.geometry;
      }) });
      features.forEach(function (f) {
        var p = f.properties;
        var item = W.el("li", { class: p.severity, title: p.code || "" }, [
          W.el("b", { text: T(p.severity) + " " }),
          problemText(p),
        ]);
        if (f.geometry) item.addEventListener("click", function () {
          map.fitBounds(L.geoJSON(f).getBounds(), { maxZoom: 19 });
        });
        list.appendChild(item);
      });
      state.warnings = features.filter(function (f) {
        return f.properties.severity === "warning";
      }).length;
      return features.filter(function (f) {
        return f.properties.severity === "error";
      }).length;
    }

    // what the validator said: errors block saving; warnings are counted, in amber
    function checkedStatus(errors) {
      if (errors) return W.status(T("errors_count", { n: errors }), "error");
      if (state.warnings) return W.status(T("warnings_count", { n: state.warnings }), "warning");
      W.status(T("ok_to_save"), "ok");
    }

    function signedIn() {
      if (!state.user) W.status(T("need_sign_in"), "error");
      return !!state.user;
    }

    function needOne() {
      if (!signedIn()) return null;
      if (state.selection.length !== 1) {
        W.status(T("select_grid_first"), "error");
        return null;
      }
      return state.selection[0];
    }

    function withLayer(code, fn) {
      return ensureLayer(communityOf(code))
        .then(fn)
        .catch(function (e) {
          W.status(T("failed") + e.message, "error");
        });
    }

    // an expired sign-in signs the page out (one state, never "已登录" beside "请先登录")
    function guard(r) {
      if (r.status === 401) {
        W.signedOut(T("session_expired"));
        return false;
      }
      if (r.status === 403) {
        W.status(T("forbidden"), "error");
        return false;
      }
      return true;
    }

    function validate() {
      W.status(T("checking"));
      return W.api("POST", "/api/grids/validate", {
        community: state.community,
        features: state.fc,
      }).then(function (r) {
        if (!guard(r)) return r;
        if (!r.ok) {
          W.status(T("failed") + W.detail(r), "error");
          return r;
        }
        var errors = showProblems(r.data.problems);
        checkedStatus(errors);
        return r;
      });
    }

    function preview(path, body) {
      W.status(T("loading"));
      if (state.dirty) {
        if (path !== "/api/grids/regenerate") body.features = state.fc;
      }
      body.community = state.community;
      return W.api("POST", path, body).then(function (r) {
        state.pending = null;
        clearHandles();
        if (!guard(r)) return r;
        if (!r.ok) {
          if (r.data && r.data.problems) showProblems(r.data.problems);
          W.status(T("failed") + W.detail(r), "error");
          paintBuildings();
          refreshTally();
          return r;
        }
        state.session.record(snapshot());
        clearBuildings();
        diffLayer.clearLayers();
        render(r.data.layer);
        state.dirty = true;
        var errors = showProblems(r.data.problems);
        editState(T("preview"));
        checkedStatus(errors);
        return r;
      });
    }

    function save() {
      if (!state.fc) return W.status(T("no_changes"));
      W.status(T("checking"));
      return W.api("POST", "/api/grids/save", {
        community: state.community,
        features: state.fc,
        base_version: state.baseVersion,
      }).then(function (r) {
        if (!guard(r)) return r;
        if (!r.ok) { // with problems: their count, the list has the details
          var errors = r.data && r.data.problems ? showProblems(r.data.problems) : 0;
          W.status(T("save_refused") + (errors ? T("see_problems", { n: errors }) : W.detail(r)), "error");
          return r;
        }
        state.baseVersion = r.data.version;
        state.dirty = false;
        forgetSession();
        render(r.data.layer);
        showProblems(r.data.problems);
        editState();
        W.status(T("saved_version", { v: r.data.version }), "ok");
        loadHistory();
        return r;
      });
    }

    function discard() {
      var community = state.community;
      state.fc = null;
      state.dirty = false;
      forgetSession();
      showProblems(null);
      editState();
      W.status("");
      if (community) ensureLayer(community);
    }

    // nothing of an earlier edit stays on the page: diff, chosen buildings, handles, tools
    function forgetSession() {
      state.session.clear();
      clearBuildings();
      clearHandles();
      stopTools();
      diffLayer.clearLayers();
      document.getElementById("diff").innerHTML = "";
    }

    // -- tools ----------------------------------------------------------------------------------

    function on(id, fn, open) {
      document.getElementById(id).addEventListener("click", function () {
        if (open || signedIn()) fn();
      });
    }

    // "修改边界": only the corners that matter (POST /api/grids/handles); a drag moves the corner
    // of every polygon that has it (POST /api/grids/reshape), so shared edges move as one
    on("btn-edit-vertices", function () {
      var code = needOne();
      if (!code) return;
      withLayer(code, function () {
        return showHandles(code);
      });
    });

    function clearHandles() {
      handleLayer.clearLayers();
      state.handlesFor = null;
    }

    function showHandles(code) {
      stopTools();
      var body = { community: state.community, level: state.level, codes: [code] };
      if (state.dirty) body.features = state.fc;
      return W.api("POST", "/api/grids/handles", body).then(function (r) {
        if (!guard(r)) return;
        if (!r.ok) return W.status(T("failed") + W.detail(r), "error");
        clearHandles();
        state.handlesFor = code;
        if (!r.data.handles.length) return W.status(T("no_handles"), "error");
        r.data.handles.forEach(addHandle);
        W.status(T("reshape_hint"));
      });
    }

    function addHandle(h) {
      var icon = L.divIcon({ className: "wangge-handle " + h.kind, iconSize: [14, 14] });
      var marker = L.marker([h.lat, h.lon], { icon: icon, draggable: true, keyboard: false });
      marker.handle = h;
      marker.on("dragend", function () {
        var to = marker.getLatLng(), code = state.handlesFor;
        reshape(h, [to.lng, to.lat]).then(function (ok) {
          if (!ok) marker.setLatLng([h.lat, h.lon]); // refused: the layer stays as it was
          else if (code) showHandles(code);
        });
      });
      handleLayer.addLayer(marker);
    }

    function reshape(h, to) {
      var body = { level: state.level, from: [h.lon, h.lat], to: to, save: false,
        base_version: state.baseVersion };
      var before = snapshot();
      if (state.dirty) body.features = state.fc;
      body.community = state.community;
      W.status(T("loading"));
      return W.api("POST", "/api/grids/reshape", body).then(function (r) {
        if (!guard(r)) return false;
        if (!r.ok) {
          W.status(T("reshape_refused") + W.detail(r), "error");
          return false;
        }
        state.session.record(before);
        diffLayer.clearLayers();
        render(r.data.layer);
        state.dirty = true;
        checkedStatus(showProblems(r.data.problems));
        editState(T("preview"));
        return true;
      });
    }

    on("btn-draw-boundary", function () {
      var code = needOne();
      if (!code) return;
      withLayer(code, function () {
        state.drawFor = code;
        W.status(T("draw_hint"));
        new L.Draw.Polygon(map, { allowIntersection: false, showArea: false }).enable();
      });
    });

    map.on("draw:created", function (e) {
      var target = state.drawFor;
      if (!target || !state.fc) return;
      state.drawFor = null;
      var ring = e.layer.getLatLngs()[0];
      setTimeout(function () {
        layers.drawn.removeLayer(e.layer);
      }, 0);
      var owner = ownerOf(props(target).level);
      var ids = Object.keys(state.buildingPoints || {}).filter(function (id) {
        return owner[id] !== target && P.inside(state.buildingPoints[id], ring);
      });
      if (!ids.length) return W.status(T("nothing_inside"), "error");
      preview("/api/grids/move", { building_ids: ids, to_code: target });
    });

    function ownerOf(level) {
      var owner = {};
      state.fc.features.forEach(function (f) {
        if (f.properties.level !== level) return;
        (f.properties.members || []).forEach(function (m) {
          if (m[1] > 0 || !(m[0] in owner)) owner[m[0]] = f.properties.code;
        });
      });
      return owner;
    }


    on("btn-move", function () {
      var code = needOne();
      if (!code) return;
      if (!state.buildings.size) return W.status(T("select_buildings"), "error");
      withLayer(code, function () {
        return preview("/api/grids/move", {
          building_ids: Array.from(state.buildings),
          to_code: code,
        }).then(function (r) {
          if (r.ok) state.buildings.clear();
        });
      });
    });

    on("btn-split", function () {
      var code = needOne();
      if (code) withLayer(code, function () {
        return preview("/api/grids/split", { code: code, parts: 2 });
      });
    });

    on("btn-merge", function () {
      if (state.selection.length < 2) return W.status(T("select_two"), "error");
      var codes = state.selection.slice();
      withLayer(codes[0], function () {
        return preview("/api/grids/merge", { codes: codes });
      });
    });

    function setLock(locked) {
      if (!state.selection.length) return W.status(T("select_grid_first"), "error");
      var codes = state.selection.slice();
      withLayer(codes[0], function () {
        return W.api("POST", locked ? "/api/grids/lock" : "/api/grids/unlock", { codes: codes })
          .then(function (r) {
            if (!guard(r)) return;
            if (!r.ok) return W.status(T("failed") + W.detail(r), "error");
            state.fc.features.forEach(function (f) {
              if (codes.indexOf(f.properties.code) >= 0) f.properties.locked = locked;
            });
            render(state.fc);
            W.status(T(locked ? "lock" : "unlock") + " ✓ " + codes.map(name).join("、"), "ok");
          });
      });
    }
    on("btn-lock", function () {
      setLock(true);
    });
    on("btn-unlock", function () {
      setLock(false);
    });

    on("btn-regenerate", function () {
      var community = state.community || config.selected.community;
      if (state.selection.length) community = communityOf(state.selection[0]);
      if (!community) return W.status(T("select_grid_first"), "error");
      ensureLayer(community).then(function () {
        return preview("/api/grids/regenerate", { level: "both", save: false });
      });
    });

    // any layer (an old or imported one too) brought back to one without errors, as a preview
    on("btn-repair", function () {
      var community = state.community || config.selected.community;
      if (state.selection.length) community = communityOf(state.selection[0]);
      if (!community) return W.status(T("select_grid_first"), "error");
      ensureLayer(community).then(function () {
        return preview("/api/grids/repair", { save: false });
      });
    });

    on("btn-validate", function () {
      if (!state.fc) {
        var code = needOne();
        if (!code) return;
        return withLayer(code, validate);
      }
      validate();
    });
    on("btn-save", save);
    on("btn-discard", discard);

    on("btn-undo", function () {
      var community = state.community || config.selected.community;
      if (state.selection.length) community = communityOf(state.selection[0]);
      if (!community) return W.status(T("select_grid_first"), "error");
      ensureLayer(community).then(function () {
        return W.api("POST", "/api/grids/undo", {
          community: community,
          base_version: state.baseVersion,
        }).then(function (r) {
          if (!guard(r)) return;
          if (!r.ok) return W.status(T("failed") + W.detail(r), "error");
          state.baseVersion = r.data.version;
          state.dirty = false;
          forgetSession();
          render(r.data.layer);
          showProblems(r.data.problems);
          editState();
          W.status(T("saved_version", { v: r.data.version }), "ok");
          loadHistory();
        });
      });
    });

    // -- history and diff ---------------------------------------------------------------------

    // the saved versions, labelled: 版本, 时间, 操作人, 变化 (against the version before)
    function loadHistory() {
      var list = document.getElementById("history-list");
      if (!state.community || !state.user) return;
      W.api("GET", "/api/grids/history?community=" + state.community).then(function (r) {
        list.innerHTML = "";
        if (!r.ok) return;
        var head = W.el("tr", {}, ["col_version", "col_time", "col_actor", "col_change", ""].map(
          function (k) {
            return W.el("th", { text: k ? T(k) : "" });
          }
        ));
        var body = W.el("tbody");
        var versions = r.data.versions;
        versions.slice().reverse().forEach(function (v) {
          var i = versions.indexOf(v), before = versions[i - 1];
          var when = new Date(v.valid_from).toLocaleString(config.lang === "en" ? "en" : "zh-CN");
          var change = T("change_summary", { grids: v.grids, micro: v.micro_grids, households: v.households });
          if (before) { // what the counts did since the version before
            var moved = [["grids", "grids"], ["micro_grids", "micro_grids"], ["households", "households"]]
              .filter(function (k) {
                return before[k[0]] !== v[k[0]];
              })
              .map(function (k) {
                return T(k[1]) + " " + before[k[0]] + "→" + v[k[0]];
              });
            change = moved.length ? moved.join("，") : T("same_counts");
          }
          var how = v.action && T("action_" + v.action.replace("grids.", ""));
          if (how && how.indexOf("action_") !== 0) change = how + "：" + change;
          var button = v.current ? "" : W.el("button", {
            type: "button", class: "small", text: T("diff"),
            onclick: function () {
              diff(v);
            },
          });
          body.appendChild(W.el("tr", { class: v.current ? "current" : "" }, [
            W.el("td", { text: T("version_n", { v: v.version }) + (v.current ? " · " + T("current") : "") }),
            W.el("td", { text: when }),
            W.el("td", { text: v.actor || v.username || "–" }),
            W.el("td", { text: change }),
            W.el("td", {}, button ? [button] : []),
          ]));
        });
        list.appendChild(W.el("table", { class: "history" }, [W.el("thead", {}, [head]), body]));
      });
    }

    function diff(v) {
      var at = new Date(new Date(v.valid_from).getTime() + 1).toISOString();
      var q = "/api/grids?community=" + state.community;
      Promise.all([W.api("GET", q + "&at=" + encodeURIComponent(at)), W.api("GET", q)]).then(
        function (r) {
          if (!r[0].ok || !r[1].ok) return W.status(T("failed") + W.detail(r[0]), "error");
          var old = {}, now = {};
          r[0].data.features.forEach(function (f) {
            old[f.properties.code] = f;
          });
          r[1].data.features.forEach(function (f) {
            now[f.properties.code] = f;
          });
          var added = [], removed = [], changed = [], shapes = [];
          Object.keys(now).forEach(function (c) {
            if (!(c in old)) added.push(name(c));
          });
          Object.keys(old).forEach(function (c) {
            if (!(c in now)) {
              removed.push(name(c));
              shapes.push(old[c]);
            } else if (JSON.stringify(old[c].geometry) !== JSON.stringify(now[c].geometry) ||
                old[c].properties.households !== now[c].properties.households) {
              changed.push(name(c) + "（" + old[c].properties.households + "→" + now[c].properties.households + "）");
              shapes.push(old[c]);
            }
          });
          diffLayer.clearLayers();
          diffLayer.addData({ type: "FeatureCollection", features: shapes });
          var box = document.getElementById("diff");
          box.innerHTML = "";
          box.appendChild(W.el("p", { text: T("version_n", { v: v.version }) + " → " + T("current") }));
          [["added", added], ["removed", removed], ["changed", changed]].forEach(function (pair) {
            box.appendChild(W.el("p", { text: T(pair[0]) + "（" + pair[1].length + "）：" + pair[1].slice(0, 20).join("、") }));
          });
        }
      );
    }

    // -- live tallies: the table of grids in view and the labels --------------------------------

    var table = P.Table(document.getElementById("tally-table"), function (row) {
      map.fitBounds(row.bounds, { maxZoom: 18 });
      var p = props(row.code);
      if (p) select(p, false);
    });
    var labels = P.Labels(map, 17);

    function targetCode() { // the one selected polygon of the edited layer at the level shown
      if (!state.fc || state.selection.length !== 1) return null;
      var p = props(state.selection[0]);
      return p && p.level === state.level && p.community_code === state.community ? p.code : null;
    }

    // recomputed from the members already on the page on every change of the chosen buildings,
    // before the server answers (W.planner.tallyMs: the last computation's time)
    function refreshTally() {
      var t0 = performance.now();
      var chosen = state.pending || state.buildings;
      var to = chosen.size ? targetCode() : null;
      var counts = state.fc ? P.tally(state.fc.features, state.level, { ids: chosen, to: to }) : {};
      var polygons = {}, micro = {};
      function collect(l) {
        var p = l.feature && l.feature.properties;
        if (!p) return;
        if (p.level === "micro") micro[p.parent_code] = (micro[p.parent_code] || 0) + 1;
        if (p.level === state.level) polygons[p.code] = l;
      }
      editLayer.eachLayer(collect);
      ["grids", "micro_grids"].forEach(function (k) {
        if (layers[k] && layers[k].eachLayer) layers[k].eachLayer(collect);
      });
      var view = map.getBounds(), rows = [];
      Object.keys(polygons).forEach(function (code) {
        var l = polygons[code], p = l.feature.properties, bounds = l.getBounds();
        if (!view.intersects(bounds)) return;
        var h = code in counts ? counts[code] : p.households;
        var grid = p.level === "micro" ? p.parent_code : code;
        rows.push({
          code: code, name: name(code), level: p.level, households: h, before: p.households,
          micro: micro[code] || 0, deviation: P.deviation(config.bounds, p.level, h),
          status: W.boundStatus(config.bounds, p.level, h), bounds: bounds, center: l.getCenter(),
          workers: (config.workers[grid] || []).map(function (w) {
            return w.name;
          }).join("、"),
        });
      });
      table.show(rows);
      labels.show(rows);
      W.planner.tallyMs = performance.now() - t0;
      var moving = 0, gained = 0, owner = to ? ownerOf(state.level) : {};
      chosen.forEach(function (id) {
        if (to && owner[id] && owner[id] !== to) moving += 1;
      });
      rows.forEach(function (r) {
        if (r.code === to) gained = r.households - r.before;
      });
      if (moving) {
        editState(T("pending_move", { grid: name(to), n: moving, h: gained }));
        state.pendingShown = true;
      } else if (state.pendingShown) { // the pending line goes once nothing is pending
        state.pendingShown = false;
        editState(chosen.size ? T("buildings_chosen", { n: chosen.size }) : null);
      }
    }
    map.on("moveend", refreshTally);
    refreshTally();

    // -- brush, lasso and the session's undo/redo ------------------------------------------------

    var brushSize = document.getElementById("brush-size");
    var tools = P.Tools(map, {
      points: function () {
        return state.buildingPoints;
      },
      footprint: function (id) {
        var l = buildingLayers[id];
        return l && l.getBounds ? l.getBounds() : null;
      },
      size: function () {
        return Number(brushSize.value);
      },
      painted: function (ids) { // only buildings not yet in the target move
        var to = targetCode(), owner = ownerOf(state.level);
        state.pending = new Set(Array.from(ids).filter(function (id) {
          return owner[id] !== to;
        }));
        paintBuildings();
        refreshTally();
      },
      stroke: function () {
        var to = targetCode();
        var ids = state.pending ? Array.from(state.pending) : [];
        if (!ids.length || !to) {
          state.pending = null;
          paintBuildings();
          return refreshTally();
        }
        preview("/api/grids/move", { building_ids: ids, to_code: to });
      },
      lassoed: function (ids, add) {
        if (!add) state.buildings = new Set();
        ids.forEach(function (id) {
          state.buildings.add(id);
        });
        buildingsChanged();
      },
    });
    W.planner.tools = tools;

    // a draft from elsewhere (an imported file, planner_compare.js): shown as unsaved edits,
    // one step of the session's undo
    W.planner.loadDraft = function (community, answer) {
      return ensureLayer(community).then(function () {
        state.session.record(snapshot());
        clearBuildings();
        diffLayer.clearLayers();
        render(answer.layer);
        state.dirty = true;
        editState(T("preview"));
        checkedStatus(showProblems(answer.problems));
      });
    };

    function toggleTool(mode, needsTarget) {
      var button = document.getElementById("btn-" + mode);
      if (tools.mode() === mode) {
        tools.set(null);
        return button.classList.remove("active");
      }
      var code = state.selection[0];
      var community = code ? communityOf(code) : state.community || config.selected.community;
      if (needsTarget && !code) return W.status(T("select_target"), "error");
      if (!community) return W.status(T("select_grid_first"), "error");
      ensureLayer(community).then(function () {
        if (needsTarget && !targetCode()) return W.status(T("select_target"), "error");
        tools.set(mode);
        document.querySelectorAll(".tools button").forEach(function (b) {
          b.classList.toggle("active", b === button);
        });
        W.status(T(mode + "_hint"));
      });
    }
    on("btn-brush", function () {
      toggleTool("brush", true);
    });
    on("btn-lasso", function () {
      toggleTool("lasso", false);
    }, true);

    function stopTools() {
      tools.set(null);
      document.querySelectorAll(".tools button").forEach(function (b) {
        b.classList.remove("active");
      });
    }

    function snapshot() {
      return { fc: JSON.stringify(state.fc), problems: state.problems, dirty: state.dirty };
    }

    function restore(snap, message) {
      clearBuildings();
      clearHandles();
      diffLayer.clearLayers();
      state.dirty = snap.dirty;
      render(JSON.parse(snap.fc));
      var errors = showProblems(snap.problems);
      editState(message);
      if (snap.problems) checkedStatus(errors);
      else validate(); // never checked: the status line waits for the validator
    }

    function sessionStep(redo) {
      if (!state.fc) return W.status(T(redo ? "nothing_to_redo" : "nothing_to_undo"));
      var snap = redo ? state.session.redo(snapshot()) : state.session.undo(snapshot());
      if (!snap) return W.status(T(redo ? "nothing_to_redo" : "nothing_to_undo"));
      // back at the saved layer: nothing to save, as the edit line then says
      restore(snap, snap.dirty ? T(redo ? "redone" : "undone") : null);
    }
    on("btn-session-undo", function () {
      sessionStep(false);
    }, true);
    on("btn-session-redo", function () {
      sessionStep(true);
    }, true);

    document.addEventListener("keydown", function (e) {
      if (/^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) return;
      var key = e.key.toLowerCase();
      if (e.key === "Escape") {
        stopTools();
        clearHandles();
      } else if ((e.ctrlKey || e.metaKey) && key === "z") {
        e.preventDefault();
        sessionStep(e.shiftKey);
      } else if ((e.ctrlKey || e.metaKey) && key === "y") {
        e.preventDefault();
        sessionStep(true);
      }
    });

    // -- area picker --------------------------------------------------------------------------

    var streetSelect = document.getElementById("street-select");
    var communitySelect = document.getElementById("community-select");
    function filterCommunities() {
      Array.prototype.forEach.call(communitySelect.options, function (o) {
        o.hidden = !!(o.value && streetSelect.value && o.dataset.street !== streetSelect.value);
      });
    }
    function go(params) {
      var next = new URLSearchParams({ lang: config.lang });
      Object.keys(params).forEach(function (k) {
        if (params[k]) next.set(k, params[k]);
      });
      location.search = next.toString();
    }
    streetSelect.addEventListener("change", function () {
      go({ street: streetSelect.value });
    });
    communitySelect.addEventListener("change", function () {
      go({ community: communitySelect.value, street: communitySelect.value ? "" : streetSelect.value });
    });
    filterCommunities();

    W.setupSignIn(function (user) {
      state.user = user;
      if (user && state.community) loadHistory();
      if (!user) document.getElementById("history-list").innerHTML = "";
    });
  });
})();
