/* Planner page: select grids, edit one community's layer through /api/grids/*, show the
   problems on the map before saving, history with a diff, undo. */
(function () {
  "use strict";
  var W = window.wangge;
  var T = function (k, v) {
    return W.T(k, v);
  };

  W.register("planner", function (map, layers, config) {
    var state = {
      community: null, // the community whose layer is being edited
      fc: null, // its layer as edited (FeatureCollection, both levels)
      baseVersion: null,
      dirty: false,
      selection: [], // selected codes (grid or micro level)
      buildings: new Set(), // selected building ids (for a move)
      buildingPoints: null, // building_id → [lat, lng] of the edited community
      editing: null, // {code, polygon} while a boundary's vertices are edited
      drawFor: null, // grid code a drawn polygon is for
      user: null, // the signed-in planner (edits need one)
    };
    var editLayer = L.geoJSON(null, { style: featureStyle, onEachFeature: bindFeature }).addTo(map);
    var problemLayer = L.geoJSON(null, {
      style: function (f) { // warnings amber, errors red
        var warn = f.properties.severity === "warning";
        return { color: warn ? "#d08700" : "#c00", weight: 3, fillColor: warn ? "#ffb627" : "#f33",
          fillOpacity: 0.45, dashArray: "4 3" };
      },
      pointToLayer: function (f, latlng) {
        var warn = f.properties.severity === "warning";
        return L.circleMarker(latlng, { radius: 8, color: warn ? "#d08700" : "#c00", fillOpacity: 0.6 });
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(W.el("span", { text: f.properties.message }));
      },
    }).addTo(map);
    var diffLayer = L.geoJSON(null, {
      style: { color: "#7b2cbf", weight: 2, fill: false, dashArray: "6 4" },
    }).addTo(map);
    W.planner = { state: state, editLayer: editLayer, problemLayer: problemLayer };

    function featureStyle(f) {
      var style = W.gridStyle(config.styles, config.bounds, f.properties);
      if (state.selection.indexOf(f.properties.code) >= 0) {
        style = Object.assign({}, style, { color: "#f5b800", weight: 4, opacity: 1 });
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
    }

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
        [T("code"), p.code],
        [T("level"), T(p.level === "grid" ? "grids" : "micro_grids")],
        [T("households"), p.households + " (" + T(status) + ")"],
        [T("bounds"), b[0] + "–" + b[1]],
        [T("members"), (p.members || []).length || "–"],
      ];
      if (p.level === "grid") rows.push([T("micro_grids"), micro]);
      if (p.locked) rows.push([T("locked"), "✓"]);
      if (state.selection.length > 1) rows.push(["✚", state.selection.join(", ")]);
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

    function levelOf(p) {
      // a click on a micro-grid selects its grid unless the grid is already selected alone
      if (p.level === "micro" && state.selection.length === 1 && state.selection[0] === p.parent_code) {
        return p;
      }
      if (p.level === "micro" && state.selection.indexOf(p.code) < 0) {
        return props(p.parent_code) || p;
      }
      return p;
    }

    function bindFeature(feature, layer) {
      layer.on("click", function (e) {
        L.DomEvent.stopPropagation(e);
        var add = e.originalEvent && (e.originalEvent.shiftKey || e.originalEvent.ctrlKey);
        select(levelOf(feature.properties), add);
      });
    }

    ["grids", "micro_grids"].forEach(function (k) {
      var layer = layers[k];
      if (!layer) return;
      layer.on("click", function (e) {
        var p = e.layer && (e.layer.feature ? e.layer.feature.properties : e.layer.properties);
        if (!p) return;
        var add = e.originalEvent && (e.originalEvent.shiftKey || e.originalEvent.ctrlKey);
        select(levelOf(p), add);
      });
    });

    // a building's name or address (never its id), as a text node
    if (layers.buildings && layers.buildings.eachLayer) {
      layers.buildings.eachLayer(function (l) {
        var p = l.feature && l.feature.properties;
        if (!p) return;
        var title = (p.title || T("unnamed_building")) + " · " + p.households + " " + T("households");
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
        if (state.buildings.has(p.building_id)) state.buildings.delete(p.building_id);
        else state.buildings.add(p.building_id);
        if (e.layer.setStyle) {
          e.layer.setStyle(
            state.buildings.has(p.building_id)
              ? { fillColor: "#f5b800", color: "#b38600", fillOpacity: 0.9 }
              : { fillColor: "#9a9a9a", color: "#555", fillOpacity: 0.6 }
          );
        }
        editState(T("buildings_selected") + ": " + state.buildings.size);
        showBuilding(p.building_id, e.latlng);
      });
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
      // buildings stay clickable above the edited grids, problems above everything
      if (layers.buildings && layers.buildings.bringToFront) layers.buildings.bringToFront();
      problemLayer.bringToFront();
      var code = state.selection[0];
      showInfo(code ? props(code) : null);
    }

    function editState(message) {
      var box = document.getElementById("edit-state");
      box.textContent = message || (state.dirty ? T("unsaved") : T("no_changes"));
    }

    function showProblems(collection) {
      problemLayer.clearLayers();
      var list = document.getElementById("problem-list");
      list.innerHTML = "";
      var features = (collection && collection.features) || [];
      problemLayer.addData({ type: "FeatureCollection", features: features.filter(function (f) {
        return f.geometry;
      }) });
      features.forEach(function (f) {
        var p = f.properties;
        var item = W.el("li", { class: p.severity }, [
          W.el("b", { text: T(p.severity) + " " }),
          (p.code || "") + " " + p.message,
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

    function checkedStatus(errors) { // errors block saving; warnings are shown, in amber
      if (errors) return W.status(T("has_problems") + errors, "error");
      if (state.warnings) return W.status(T("has_warnings") + state.warnings, "warning");
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

    function guard(r) {
      if (r.status === 401 || r.status === 403) {
        W.status(T("need_sign_in") + " (" + W.detail(r) + ")", "error");
        return false;
      }
      return true;
    }

    function applyEditing() {
      if (!state.editing) return;
      var geometry = state.editing.polygon.toGeoJSON(false).geometry;
      state.fc.features.forEach(function (f) {
        if (f.properties.code === state.editing.code) f.geometry = geometry;
      });
      state.dirty = true;
      editState();
    }

    function stopEditing() {
      if (!state.editing) return;
      state.editing.polygon.editing.disable();
      layers.drawn.removeLayer(state.editing.polygon);
      state.editing = null;
      render(state.fc);
    }

    function validate() {
      applyEditing();
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
        applyEditing();
        if (path !== "/api/grids/regenerate") body.features = state.fc;
      }
      body.community = state.community;
      return W.api("POST", path, body).then(function (r) {
        if (!guard(r)) return r;
        if (!r.ok) {
          if (r.data && r.data.problems) showProblems(r.data.problems);
          W.status(T("failed") + W.detail(r), "error");
          return r;
        }
        if (state.editing) {
          layers.drawn.removeLayer(state.editing.polygon);
          state.editing = null;
        }
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
      applyEditing();
      W.status(T("checking"));
      return W.api("POST", "/api/grids/save", {
        community: state.community,
        features: state.fc,
        base_version: state.baseVersion,
      }).then(function (r) {
        if (!guard(r)) return r;
        if (!r.ok) {
          if (r.data && r.data.problems) showProblems(r.data.problems);
          W.status(T("save_refused") + W.detail(r), "error");
          return r;
        }
        if (state.editing) {
          state.editing.polygon.editing.disable();
          layers.drawn.removeLayer(state.editing.polygon);
          state.editing = null;
        }
        state.baseVersion = r.data.version;
        state.dirty = false;
        render(r.data.layer);
        showProblems(r.data.problems);
        editState();
        W.status(T("saved_version", { v: r.data.version }), "ok");
        loadHistory();
        return r;
      });
    }

    function discard() {
      if (state.editing) {
        state.editing.polygon.editing.disable();
        layers.drawn.removeLayer(state.editing.polygon);
        state.editing = null;
      }
      var community = state.community;
      state.fc = null;
      state.dirty = false;
      showProblems(null);
      editState();
      if (community) ensureLayer(community);
    }

    // -- tools ----------------------------------------------------------------------------------

    function on(id, fn, open) {
      document.getElementById(id).addEventListener("click", function () {
        if (open || signedIn()) fn();
      });
    }

    on("btn-edit-vertices", function () {
      var code = needOne();
      if (!code) return;
      withLayer(code, function () {
        if (state.editing) stopEditing();
        var feature = state.fc.features.filter(function (f) {
          return f.properties.code === code;
        })[0];
        var polygon = L.GeoJSON.geometryToLayer(feature, {});
        polygon.setStyle({ color: "#f5b800", weight: 3, fillOpacity: 0.1 });
        layers.drawn.addLayer(polygon);
        polygon.editing.enable();
        polygon.on("edit", function () {
          validate();
        });
        state.editing = { code: code, polygon: polygon };
        editLayer.eachLayer(function (l) {
          if (l.feature.properties.code === code) l.setStyle({ opacity: 0.2, fillOpacity: 0.05 });
        });
      });
    });

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
        return owner[id] !== target && inside(state.buildingPoints[id], ring);
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

    function inside(point, ring) {
      var y = point[0], x = point[1], hit = false;
      for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        var yi = ring[i].lat, xi = ring[i].lng, yj = ring[j].lat, xj = ring[j].lng;
        if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
      }
      return hit;
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
            W.status(T(locked ? "lock" : "unlock") + " ✓ " + codes.join(", "), "ok");
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
          render(r.data.layer);
          showProblems(r.data.problems);
          editState();
          W.status(T("saved_version", { v: r.data.version }), "ok");
          loadHistory();
        });
      });
    });

    // -- history and diff ---------------------------------------------------------------------

    function loadHistory() {
      var list = document.getElementById("history-list");
      if (!state.community || !state.user) return;
      W.api("GET", "/api/grids/history?community=" + state.community).then(function (r) {
        list.innerHTML = "";
        if (!r.ok) return;
        r.data.versions.slice().reverse().forEach(function (v) {
          var when = new Date(v.valid_from).toLocaleString(config.lang === "en" ? "en" : "zh-CN");
          var item = W.el("li", {}, [
            W.el("b", { text: "v" + v.version + (v.current ? " · " + T("current") : "") }),
            " " + when + " · " + v.grids + "/" + v.micro_grids + " · " + v.households,
          ]);
          if (!v.current) {
            item.appendChild(W.el("button", {
              type: "button",
              class: "small",
              text: T("diff"),
              onclick: function () {
                diff(v);
              },
            }));
          }
          list.appendChild(item);
        });
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
            if (!(c in old)) added.push(c);
          });
          Object.keys(old).forEach(function (c) {
            if (!(c in now)) {
              removed.push(c);
              shapes.push(old[c]);
            } else if (JSON.stringify(old[c].geometry) !== JSON.stringify(now[c].geometry) ||
                old[c].properties.households !== now[c].properties.households) {
              changed.push(c + " (" + old[c].properties.households + "→" + now[c].properties.households + ")");
              shapes.push(old[c]);
            }
          });
          diffLayer.clearLayers();
          diffLayer.addData({ type: "FeatureCollection", features: shapes });
          var box = document.getElementById("diff");
          box.innerHTML = "";
          box.appendChild(W.el("p", { text: "v" + v.version + " → " + T("current") }));
          [["added", added], ["removed", removed], ["changed", changed]].forEach(function (pair) {
            box.appendChild(W.el("p", { text: T(pair[0]) + " (" + pair[1].length + "): " + pair[1].slice(0, 20).join(", ") }));
          });
        }
      );
    }

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
    });
  });
})();
