/* The street office's notices page: compose and send a notice to an area (district, streets,
   communities, clicked grids or a drawn polygon; emergencies after a confirmation), then a live
   map of the households reached per grid with the time since sending, refreshed every few
   seconds, and who has not acknowledged. Values from data are set as text only. */
(function () {
  "use strict";
  var W = window.wangge;

  W.register("notices", function (map, layers, config) {
    var T = W.T;
    var $ = function (id) {
      return document.getElementById(id);
    };
    var state = { user: null, mode: "district", picked: {}, polygon: null, notice: null };
    W.noticesPage = state;
    var pickLayer = null;
    var progressLayer = null;
    var timers = { refresh: null, tick: null };
    W.localiseDraw(map);

    function communityName(code) {
      var a = config.areas.find(function (x) {
        return x.code === code;
      });
      return a ? a.name : code;
    }
    function gridName(code) {
      var name = communityName(code.slice(0, 12));
      if (code.length >= 15) name += T("grid_n", { n: parseInt(code.slice(12, 15), 10) });
      if (code.length === 18) name += T("micro_n", { n: parseInt(code.slice(15, 18), 10) });
      return name;
    }
    function mine(area) {
      // a street admin picks inside their own street office only
      return !state.user || state.user.role !== "street_admin" || area.street_code === state.user.street_code;
    }
    function shareColour(share) {
      if (share === null || share === undefined) return config.shareColours[0][1];
      for (var i = 0; i < config.shareColours.length; i++) {
        if (share <= config.shareColours[i][0]) return config.shareColours[i][1];
      }
      return config.shareColours[config.shareColours.length - 1][1];
    }
    function percent(share) {
      return share === null || share === undefined ? "–" : Math.round(share * 100) + "%";
    }
    function duration(seconds) {
      seconds = Math.max(0, Math.floor(seconds));
      var h = Math.floor(seconds / 3600);
      var m = Math.floor((seconds % 3600) / 60);
      if (h) return T("hours", { h: h, m: m });
      return T("minutes", { m: m, s: seconds % 60 });
    }

    /* -- picking the area ------------------------------------------------------------ */
    function listOptions() {
      var list = $("area-list");
      list.textContent = "";
      var seen = {};
      config.areas.filter(mine).forEach(function (a) {
        var code = state.mode === "streets" ? a.street_code : a.code;
        var name = state.mode === "streets" ? a.street_name : a.name;
        if (!code || seen[code]) return;
        seen[code] = true;
        var option = W.el("option", { value: code, text: name || code });
        option.selected = !!state.picked[code];
        list.appendChild(option);
      });
    }

    function showPicked() {
      var what;
      var codes = Object.keys(state.picked);
      if (state.mode === "district") what = T("picked_district", { code: districtCode() || "–" });
      else if (state.mode === "polygon") what = state.polygon ? T("picked_polygon") : null;
      else if (codes.length) {
        var names = codes.slice(0, 6).map(function (c) {
          var o = $("area-list").querySelector('option[value="' + c + '"]');
          return state.mode === "grids" ? gridName(c) : o ? o.textContent : c;
        });
        what = names.join("、") + (codes.length > 6 ? " … " + T("picked_n", { n: codes.length }) : "");
      }
      $("picked").textContent = what ? T("picked", { what: what }) : T("picked_none");
      if (pickLayer) pickLayer.setStyle(gridStyle);
    }

    function districtCode() {
      var a = config.areas.find(mine);
      return a ? a.code.slice(0, 6) : null;
    }

    function setMode(mode) {
      state.mode = mode;
      state.picked = {};
      state.polygon = null;
      layers.drawn.clearLayers();
      var list = mode === "streets" || mode === "communities";
      $("area-list").hidden = !list;
      if (list) listOptions();
      $("area-hint").textContent = mode === "grids" ? T("grids_hint") : mode === "polygon" ? T("area_draw_hint") : "";
      if (mode === "polygon") new L.Draw.Polygon(map, { allowIntersection: false, showArea: false }).enable();
      if (mode === "grids" && progressLayer) map.removeLayer(progressLayer);
      showPicked();
    }

    document.querySelectorAll('input[name="area-mode"]').forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.checked) setMode(input.value);
      });
    });
    $("area-list").addEventListener("change", function () {
      state.picked = {};
      Array.prototype.forEach.call($("area-list").selectedOptions, function (o) {
        state.picked[o.value] = true;
      });
      showPicked();
    });
    map.on("draw:created", function (e) {
      if (state.mode !== "polygon") return;
      layers.drawn.clearLayers();
      layers.drawn.addLayer(e.layer);
      state.polygon = e.layer.toGeoJSON().geometry;
      showPicked();
    });

    function gridStyle(feature) {
      var on = state.mode === "grids" && state.picked[feature.properties.code];
      return { color: on ? "#1f6feb" : "#666", weight: on ? 3 : 1, fillOpacity: on ? 0.35 : 0.05 };
    }

    function loadGrids() {
      W.api("GET", "/api/grids?level=grid").then(function (r) {
        if (!r.ok) return W.status(T("send_failed") + W.detail(r), "error");
        var own = config.areas.filter(mine).map(function (a) {
          return a.code;
        });
        var features = r.data.features.filter(function (f) {
          return own.indexOf(f.properties.code.slice(0, 12)) >= 0;
        });
        if (pickLayer) layers.grids.removeLayer(pickLayer);
        pickLayer = L.geoJSON({ type: "FeatureCollection", features: features }, {
          style: gridStyle,
          onEachFeature: function (feature, layer) {
            layer.on("click", function () {
              if (state.mode !== "grids") return;
              var code = feature.properties.code;
              if (state.picked[code]) delete state.picked[code];
              else state.picked[code] = true;
              showPicked();
            });
          },
        });
        layers.grids.addLayer(pickLayer);
        if (features.length) map.fitBounds(pickLayer.getBounds());
      });
    }

    /* -- sending ----------------------------------------------------------------------- */
    function area() {
      var codes = Object.keys(state.picked);
      if (state.mode === "district") return { district: districtCode() };
      if (state.mode === "streets") return { streets: codes };
      if (state.mode === "communities") return { communities: codes };
      if (state.mode === "grids") return { grids: codes };
      return { polygon: state.polygon };
    }

    function send(confirm) {
      var form = $("notice-form");
      var body = {
        title: form.elements.title.value,
        body: form.elements.body.value,
        level: form.elements.level.value,
        area: area(),
        confirm: !!confirm,
      };
      $("confirm-box").hidden = true;
      W.status(T("sending"));
      W.api("POST", "/api/notices", body).then(function (r) {
        if (!r.ok) return W.status(T("send_failed") + W.detail(r), "error");
        W.status(T("sent_ok", { grids: r.data.grids, people: r.data.people }), "ok");
        form.reset();
        startMode();
        loadSent(r.data.id);
      });
    }

    $("notice-form").addEventListener("submit", function (event) {
      event.preventDefault();
      if ($("notice-form").elements.level.value === "emergency") {
        $("confirm-box").hidden = false;
        $("btn-confirm").focus();
        return;
      }
      send(false);
    });
    $("btn-confirm").addEventListener("click", function () {
      send(true);
    });
    $("btn-cancel").addEventListener("click", function () {
      $("confirm-box").hidden = true;
    });

    /* -- following a notice ------------------------------------------------------------- */
    function loadSent(select) {
      W.api("GET", "/api/notices/sent").then(function (r) {
        if (!r.ok) return;
        var list = $("sent-list");
        list.textContent = "";
        list.appendChild(W.el("option", { value: "", text: T("choose_notice") }));
        r.data.forEach(function (n) {
          var label = (n.level === "emergency" ? "【" + T("level_emergency") + "】" : "") + n.title;
          list.appendChild(W.el("option", { value: String(n.id), text: label }));
        });
        var id = select || (r.data[0] && r.data[0].id);
        if (id) {
          list.value = String(id);
          follow(id);
        }
      });
    }
    $("sent-list").addEventListener("change", function () {
      if ($("sent-list").value) follow(parseInt($("sent-list").value, 10));
    });

    function follow(id) {
      state.notice = { id: id };
      clearInterval(timers.refresh);
      loadProgress();
      timers.refresh = setInterval(loadProgress, config.refreshMs);
    }

    function loadProgress() {
      var id = state.notice && state.notice.id;
      if (!id) return;
      W.api("GET", "/api/notices/" + id + "/progress").then(function (r) {
        if (!r.ok || !state.notice || state.notice.id !== id) return;
        showProgress(r.data);
      });
    }

    function showProgress(fc) {
      var n = fc.notice;
      state.notice = { id: n.id, sinceAt: Date.now() - n.seconds_since * 1000, data: fc };
      $("progress-title").textContent =
        (n.level === "emergency" ? "【" + T("level_emergency") + "】" : "") + n.title;
      $("progress-line").textContent = T("reached_line", {
        reached: n.households_reached,
        households: n.households,
        share: percent(n.share),
        ack: n.acknowledged,
        people: n.people,
      });
      tick();
      if (progressLayer) map.removeLayer(progressLayer);
      progressLayer = L.geoJSON(fc, {
        style: function (f) {
          return {
            color: "#333",
            weight: 1,
            fillColor: shareColour(f.properties.share),
            fillOpacity: 0.7,
            className: "notice-grid grid-" + f.properties.code,
          };
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          var text = T("grid_popup", {
            name: gridName(p.code),
            reached: p.reached,
            households: p.households,
            share: percent(p.share),
            ack: p.acknowledged,
            people: p.people,
          });
          layer.bindTooltip(W.el("span", { text: text }));
          layer.bindPopup(W.el("span", { text: text }));
        },
      });
      if (state.mode !== "grids") progressLayer.addTo(map);
      var pending = fc.pending;
      $("pending-head").textContent = pending.length ? T("pending", { n: n.people - n.acknowledged }) : T("pending_none");
      var list = $("pending-list");
      list.textContent = "";
      pending.forEach(function (p) {
        var line = (p.name || "–") + " · " + T("role_" + p.role) + " · " + gridName(p.area_code);
        if (!p.delivered) line += T("not_delivered");
        if (p.note) line += " · " + p.note;
        list.appendChild(W.el("li", { text: line }));
      });
      $("follow").hidden = false;
    }

    function tick() {
      if (!state.notice || !state.notice.sinceAt) return;
      $("progress-since").textContent = T("since", { t: duration((Date.now() - state.notice.sinceAt) / 1000) });
    }
    timers.tick = setInterval(tick, 1000);

    /* a street admin starts from their own street office, an admin from the district */
    function startMode() {
      var user = state.user;
      var initial = user.role === "street_admin" ? "streets" : "district";
      document.querySelector('input[name="area-mode"][value="' + initial + '"]').checked = true;
      setMode(initial);
      if (initial === "streets" && user.street_code) {
        state.picked[user.street_code] = true;
        listOptions();
        showPicked();
      }
    }

    W.setupSignIn(function (user) {
      state.user = user;
      var sender = user && (user.role === "street_admin" || user.role === "admin");
      $("compose").hidden = !sender;
      $("follow").hidden = true;
      clearInterval(timers.refresh);
      if (progressLayer) map.removeLayer(progressLayer);
      if (user && !sender) W.status(T("need_sign_in"), "error");
      if (!sender) return;
      startMode();
      loadGrids();
      loadSent();
    });
  });
})();
