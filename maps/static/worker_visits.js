/* Household visits on the worker's phone: tap a building on the map → 记录走访 with the
   households seen and a note; the location comes from the phone and the answer (accepted, or
   too far and how far) shows at once. Below the case list: my visits this month. Every value
   from data goes in as text. Without network a visit is kept in this tab (with the time of
   the tap) and sent when the phone is back online. A visit's building name is a button: it
   flies the map to the building, rings its outline and opens a popup that reads as the line
   does (so do the building's tooltip and form). Loaded in the head; starts after the page
   (window load). */
(function () {
  "use strict";
  var TEXT = {
    zh: {
      heading: "本月走访", record: "记录走访", households: "走访户数", note: "备注（选填）",
      seen: "走访 {n} 户",
      cancel: "取消", locating: "正在获取手机定位…", sending: "正在提交…",
      no_location: "无法获取定位：", none: "本月还没有走访记录", accepted: "已计入",
      flagged: "未计入", unnamed: "未命名楼栋", count: "共 {n} 次，计入 {ok} 次", unknown: "未找到这栋楼",
      failed: "未记录：", sign_in: "请先登录",
      queued: "没有网络：走访已保存在手机上，联网后自动提交", pending: "待提交的走访 {n} 条",
      on_map: "在地图上查看", no_place: "这栋楼已不在地图数据中",
    },
    en: {
      heading: "My visits this month", record: "Record a visit", households: "Households seen",
      seen: "{n} households seen",
      note: "Note (optional)", cancel: "Cancel", locating: "Getting the phone's location…",
      sending: "Sending…", no_location: "No location: ", none: "No visits this month yet",
      accepted: "counted", flagged: "not counted", unnamed: "Unnamed building", count: "{n} visits, {ok} counted",
      unknown: "Building not found", failed: "Not recorded: ", sign_in: "Sign in first",
      queued: "Offline: the visit is kept on the phone and sent when back online",
      pending: "{n} visits waiting to be sent",
      on_map: "Show on the map", no_place: "This building is no longer in the map data",
    },
  };
  var TOKEN = "wangge.token";
  var WORKERS = ["grid_worker", "grid_leader"];
  var QUEUE = "wangge.visits.outbox"; // visits recorded offline, for this tab's session
  var buildings = null; // "lon,lat" → building properties, from /api/buildings
  var App = (window.wanggeWorker = window.wanggeWorker || {});
  var titles = {}; // building_id → its title as the visit list reads it
  var ring = null; // the layer that rings the building shown from the list

  var T; // wangge.localText, set on load: this script may load before wangge.js

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      node.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function call(method, url, body) {
    var headers = { Authorization: "Bearer " + sessionStorage.getItem(TOKEN) };
    var init = { method: method, headers: headers };
    if (body) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      return r.text().then(function (raw) {
        var data = null;
        try {
          data = raw ? JSON.parse(raw) : null;
        } catch (e) {
          data = { detail: raw };
        }
        return { ok: r.ok, status: r.status, data: data };
      });
    }, function (e) {
      return { ok: false, status: 0, data: { detail: String(e) } };
    });
  }

  function reason(r) {
    var d = r.data && r.data.detail;
    return Array.isArray(d) ? d.map(function (e) { return e.msg; }).join("; ") : d || "HTTP " + r.status;
  }

  function key(lon, lat) {
    return lon.toFixed(6) + "," + lat.toFixed(6);
  }

  function loadBuildings() {
    if (buildings) return Promise.resolve(buildings);
    return call("GET", "/api/auth/me").then(function (me) {
      if (!me.ok) return null;
      var community = me.data.community_code || (me.data.grid_codes[0] || "").slice(0, 12);
      return call("GET", "/api/buildings?community=" + community).then(function (r) {
        if (!r.ok) return null;
        buildings = {};
        r.data.features.forEach(function (f) {
          var c = f.geometry.coordinates;
          buildings[key(c[0], c[1])] = f.properties;
        });
        return buildings;
      });
    });
  }

  function section() {
    var box = document.getElementById("visits");
    if (box) return box;
    box = el("section", { id: "visits", class: "visits" });
    box.appendChild(el("div", { id: "visit-form-slot" }));
    box.appendChild(el("h2", {}, T("heading")));
    box.appendChild(el("p", { id: "visit-count", class: "hint" }));
    box.appendChild(el("p", { id: "visit-pending", class: "outbox", hidden: "" }));
    box.appendChild(el("ul", { id: "visit-list", class: "visit-list" }));
    var list = document.getElementById("list-view");
    list.parentNode.insertBefore(box, list.nextSibling);
    return box;
  }

  function answerText(v) {
    return window.wangge.lang() === "en" && v.message_en ? v.message_en : v.message;
  }

  function titleOf(v) {
    return (window.wangge.lang() === "en" && v.building_name_en) || v.building_name || T("unnamed");
  }

  App.visitTitle = function (buildingId) {
    return titles[buildingId];
  };

  /* the building on the map: flown to, its outline ringed, a popup reading as the line does */
  function showOnMap(v) {
    var W = window.wangge;
    var map = W.map;
    var dot = (App.buildingMarkers || {})[v.building_id];
    var placed = typeof v.building_lat === "number";
    var at = dot ? dot.getLatLng() : placed ? L.latLng(v.building_lat, v.building_lon) : null;
    if (!at) return W.status(T("no_place"), "warning");
    if (!ring) ring = L.layerGroup().addTo(map);
    ring.clearLayers();
    var style = { color: "#e8590c", weight: 4, fillOpacity: 0.15, interactive: false };
    if (v.building_outline) {
      L.geoJSON(v.building_outline, {
        style: function () { return style; },
        pointToLayer: function (f, point) { return L.circleMarker(point, L.extend({ radius: 12 }, style)); },
      }).addTo(ring);
    }
    var content = el("div", { class: "visit-popup" });
    content.appendChild(el("strong", {}, titleOf(v)));
    if (dot) {
      content.appendChild(el("div", { class: "meta" }, T("seen", { n: v.households_seen })));
      var record = el("button", { type: "button" }, T("record"));
      record.addEventListener("click", function () {
        map.closePopup();
        openForm(dot.building);
      });
      content.appendChild(record);
    }
    var popup = L.popup({ autoPanPaddingTopLeft: [16, 64], autoPanPaddingBottomRight: [16, 16], maxWidth: 260 }).setLatLng(at).setContent(content);
    var zoom = Math.max(map.getZoom(), 18);
    var tries = 3; // a move still under way (the first fit's zoom) may end before the flight
    function arrived() {
      var off = map.latLngToContainerPoint(at).distanceTo(map.getSize().divideBy(2));
      if ((off > 2 || map.getZoom() !== zoom) && --tries) return map.once("moveend", arrived);
      popup.openOn(map);
    }
    map.getContainer().scrollIntoView({ block: "nearest" });
    map.once("moveend", arrived);
    map.flyTo(at, zoom, { duration: 0.5 });
  }

  function answerLine(v) {
    var li = el("li", { class: v.accepted ? "visit ok" : "visit flagged" });
    var when = new Date(v.visited_at).toLocaleString(document.documentElement.lang || "zh-CN");
    var place = el("button", { type: "button", class: "visit-place", "aria-label": titleOf(v) + " · " + T("on_map") });
    place.appendChild(el("strong", {}, titleOf(v)));
    place.appendChild(el("span", { class: "go" }, T("on_map") + " ›"));
    place.addEventListener("click", function () {
      showOnMap(v);
    });
    li.appendChild(place);
    li.appendChild(el("span", { class: "chip" }, v.accepted ? T("accepted") : T("flagged")));
    li.appendChild(el("span", { class: "meta" }, " " + when + " · " + T("seen", { n: v.households_seen })));
    li.appendChild(el("div", { class: "meta" }, answerText(v)));
    return li;
  }

  function loadMine() {
    if (!sessionStorage.getItem(TOKEN)) return;
    return call("GET", "/api/auth/me").then(function (me) {
      // only grid workers and leaders record visits; others (an admin) get no section
      if (!me.ok || WORKERS.indexOf(me.data.role) < 0) return null;
      return call("GET", "/api/visits/mine");
    }).then(function (r) {
      if (!r || !r.ok) return;
      section();
      showPending();
      var list = document.getElementById("visit-list");
      list.replaceChildren();
      titles = {};
      r.data.forEach(function (v) {
        if (!titles[v.building_id]) titles[v.building_id] = titleOf(v); // the newest
        list.appendChild(answerLine(v));
      });
      var ok = r.data.filter(function (v) { return v.accepted; }).length;
      document.getElementById("visit-count").textContent = r.data.length
        ? T("count", { n: r.data.length, ok: ok })
        : T("none");
    });
  }

  function locate() {
    return new Promise(function (resolve, reject) {
      if (!navigator.geolocation) return reject(new Error("geolocation"));
      navigator.geolocation.getCurrentPosition(resolve, reject, {
        enableHighAccuracy: true, timeout: 15000, maximumAge: 30000,
      });
    });
  }

  function queued() {
    try {
      return JSON.parse(sessionStorage.getItem(QUEUE) || "[]");
    } catch (e) {
      return [];
    }
  }

  function showPending() {
    var n = queued().length;
    var box = document.getElementById("visit-pending");
    if (!box) return;
    box.hidden = !n;
    box.textContent = n ? T("pending", { n: n }) : "";
  }

  /* send the visits kept while offline, oldest first; an answer of any kind (accepted,
     flagged, or refused as a repeat) takes one off the queue, no network stops */
  function flush() {
    var items = queued();
    if (!items.length || !sessionStorage.getItem(TOKEN)) return Promise.resolve();
    return call("POST", "/api/visits", items[0]).then(function (r) {
      if (r.status === 0) return;
      sessionStorage.setItem(QUEUE, JSON.stringify(queued().slice(1)));
      var answer = document.getElementById("visit-answer");
      if (answer) {
        answer.className = r.ok ? (r.data.accepted ? "ok" : "warning") : "error";
        answer.textContent = r.ok ? answerText(r.data) : T("failed") + reason(r);
      }
      showPending();
      return queued().length ? flush() : loadMine();
    });
  }

  function openForm(building) {
    section();
    var slot = document.getElementById("visit-form-slot");
    var form = el("form", { id: "visit-form", class: "dialog visit-form" });
    var title = titles[building.building_id] || building.title || building.name || T("unnamed");
    form.appendChild(el("h3", {}, T("record") + " · " + title));
    var seen = el("input", { type: "number", name: "households_seen", min: "0", max: "500",
      value: "1", inputmode: "numeric", "aria-label": T("households") });
    var note = el("textarea", { name: "note", maxlength: "200", rows: "2", placeholder: T("note"),
      "aria-label": T("note") });
    var label = el("label", {}, T("households") + " ");
    label.appendChild(seen);
    form.appendChild(label);
    form.appendChild(note);
    var send = el("button", { type: "submit", id: "btn-visit" }, T("record"));
    var cancel = el("button", { type: "button" }, T("cancel"));
    form.appendChild(send);
    form.appendChild(cancel);
    var answer = el("p", { id: "visit-answer", role: "status", "aria-live": "polite" });
    form.appendChild(answer);
    cancel.addEventListener("click", function () {
      slot.replaceChildren();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send.disabled = true;
      answer.className = "";
      answer.textContent = T("locating");
      locate().then(function (pos) {
        answer.textContent = T("sending");
        var visit = {
          building_id: building.building_id, lon: pos.coords.longitude, lat: pos.coords.latitude,
          accuracy_m: pos.coords.accuracy, households_seen: parseInt(seen.value || "0", 10),
          note: note.value.trim() || null, visited_at: new Date().toISOString(),
        };
        return call("POST", "/api/visits", visit).then(function (r) {
          send.disabled = false;
          if (r.status === 0) {
            sessionStorage.setItem(QUEUE, JSON.stringify(queued().concat([visit])));
            answer.className = "warning";
            answer.textContent = T("queued");
            showPending();
            return;
          }
          if (!r.ok) {
            answer.className = "error";
            answer.textContent = T("failed") + reason(r);
            return;
          }
          answer.className = r.data.accepted ? "ok" : "warning";
          answer.textContent = answerText(r.data);
          answer.scrollIntoView({ block: "nearest" });
          loadMine();
        });
      }, function (error) {
        send.disabled = false;
        answer.className = "error";
        answer.textContent = T("no_location") + (error.message || error);
      });
    });
    slot.replaceChildren(form);
    form.scrollIntoView({ block: "nearest" });
  }

  function onBuilding(event) {
    if (!sessionStorage.getItem(TOKEN)) return;
    var layer = event.propagatedFrom || event.layer;
    var at = layer.getLatLng();
    loadBuildings().then(function (all) {
      var building = all && all[key(at.lng, at.lat)];
      if (building) openForm(building);
    });
  }

  window.addEventListener("load", function () {
    var W = window.wangge;
    if (!W || !W.layers || !W.layers.buildings) return;
    T = W.localText(TEXT);
    W.layers.buildings.on("click", onBuilding);
    window.addEventListener("online", flush);
    loadMine();
    flush();
    // wangge.js shows #whoami once signed in (and hides it on sign-out): load then
    var who = document.getElementById("whoami");
    if (who) {
      new MutationObserver(function () {
        buildings = null;
        titles = {};
        if (ring) ring.clearLayers();
        if (!who.hidden) flush().then(loadMine);
      }).observe(who, { attributes: true, attributeFilter: ["hidden"] });
    }
  });
})();
