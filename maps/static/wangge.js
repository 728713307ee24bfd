/* Shared by the three map pages: start-up, text, sign-in, JSON calls, tile styles.
   Loaded after Leaflet; each page script registers itself with wangge.register(). */
(function () {
  "use strict";
  var pages = {};
  var TOKEN = "wangge.token";
  var drawnResolve;
  var W = (window.wangge = {
    config: {},
    layers: {},
    drawn: new Promise(function (resolve) {
      drawnResolve = resolve;
    }),
  });

  W.register = function (page, fn) {
    pages[page] = fn;
  };

  W.T = function (key, values) {
    var s = (W.config.text || {})[key] || key;
    Object.keys(values || {}).forEach(function (k) {
      s = s.replace("{" + k + "}", values[k]);
    });
    return s;
  };

  /* the page's language: "en" or "zh" (the default) */
  W.lang = function () {
    return (document.documentElement.lang || "zh").slice(0, 2) === "en" ? "en" : "zh";
  };

  /* T for a script's own text table {zh: {...}, en: {...}}, in the page's language */
  W.localText = function (table) {
    return function (key, values) {
      var lang = W.lang();
      return Object.keys(values || {}).reduce(function (s, k) {
        return s.replace("{" + k + "}", values[k]);
      }, table[lang][key] || table.zh[key] || key);
    };
  };

  W.el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "onclick") node.addEventListener("click", attrs[k]);
      // through the CSSOM: the style CSP refuses a style attribute, not this
      else if (k === "style") node.style.cssText = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  };

  W.status = function (message, kind) {
    var box = document.getElementById("status");
    if (!box) return;
    box.textContent = message || "";
    box.className = kind || "";
  };

  W.token = function () {
    return sessionStorage.getItem(TOKEN);
  };

  /* fetch; resolves {ok, status, data} (data: the parsed JSON body, {detail: text} when it is not
     JSON, null when empty), status 0 when the network failed; never rejects */
  W.request = function (url, init) {
    return fetch(url, init).then(
      function (response) {
        return response.text().then(function (raw) {
          var data = null;
          try {
            data = raw ? JSON.parse(raw) : null;
          } catch (e) {
            data = { detail: raw };
          }
          return { ok: response.ok, status: response.status, data: data };
        });
      },
      function (error) {
        return { ok: false, status: 0, data: { detail: String(error) } };
      }
    );
  };

  /* JSON call with the signed-in token: a JSON body, or form fields */
  W.api = function (method, url, body, form) {
    var headers = {};
    var token = W.token();
    if (token) headers.Authorization = "Bearer " + token;
    var init = { method: method, headers: headers };
    if (form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      init.body = new URLSearchParams(form).toString();
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return W.request(url, init);
  };

  W.detail = function (result) {
    var d = result.data && result.data.detail;
    if (Array.isArray(d)) {
      return d
        .map(function (e) {
          return (e.loc || []).slice(1).join(".") + ": " + e.msg;
        })
        .join("; ");
    }
    return d || "HTTP " + result.status;
  };

  /* the phone's position once: found(coords) with latitude, longitude and accuracy (m); the
     wait and a failure are told in #status */
  W.locate = function (found) {
    if (!navigator.geolocation) return W.status(W.T("locate_failed", { why: "—" }), "error");
    W.status(W.T("locating"));
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        W.status("");
        found(pos.coords);
      },
      function (err) {
        W.status(W.T("locate_failed", { why: err.message || err.code }), "error");
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  };

  /* a phone form's map (#map, #btn-locate): tiles when configured, a draggable pin that a tap,
     a drag or "my location" places; place(latlng, coords) after each (coords from locating) */
  W.placeMap = function (config, place) {
    var map = L.map("map", { zoomControl: true, attributionControl: !!config.tiles });
    if (config.tiles) {
      L.tileLayer(config.tiles, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
    }
    map.fitBounds(config.bounds || [[32.0, 118.7], [32.1, 118.9]]);
    var pin = L.marker(map.getCenter(), { draggable: true, autoPan: true }).addTo(map);
    pin.on("dragend", function () {
      place(pin.getLatLng());
    });
    map.on("click", function (e) {
      place(e.latlng);
    });
    document.getElementById("btn-locate").addEventListener("click", function () {
      W.locate(function (coords) {
        var here = L.latLng(coords.latitude, coords.longitude);
        map.setView(here, 18);
        place(here, coords);
      });
    });
    return { map: map, pin: pin };
  };

  /* five star buttons (a radio group) in `box`; pick(n) when one is tapped */
  W.starButtons = function (box, pick) {
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = W.el("button", { type: "button", role: "radio", "aria-checked": "false",
        "aria-label": W.T("stars", { n: n }), "data-stars": String(n), text: "★" });
      b.addEventListener("click", function () {
        box.querySelectorAll("button").forEach(function (s) {
          s.classList.toggle("on", +s.dataset.stars <= n);
          s.setAttribute("aria-checked", +s.dataset.stars === n ? "true" : "false");
        });
        pick(n);
      });
      box.appendChild(b);
    });
  };

  /* sign-in form → POST /api/auth/token, token in sessionStorage, GET /api/auth/me */
  W.me = function () {
    if (!W.token()) return Promise.resolve(null);
    return W.api("GET", "/api/auth/me").then(function (r) {
      if (r.ok) return r.data;
      if (r.status === 401) sessionStorage.removeItem(TOKEN);
      return null;
    });
  };

  W.setupSignIn = function (onChange) {
    var form = document.getElementById("signin");
    var who = document.getElementById("whoami");
    function show(user) {
      form.hidden = !!user;
      who.hidden = !user;
      if (user) {
        who.querySelector("span").textContent =
          W.T("signed_in_as") + (user.display_name || user.username);
      }
      onChange(user);
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      W.api("POST", "/api/auth/token", undefined, {
        username: data.get("username"),
        password: data.get("password"),
      }).then(function (r) {
        if (r.status === 404) return W.status(W.T("auth_missing"), "error");
        if (r.status === 401) return W.status(W.T("sign_in_failed") + W.T("sign_in_wrong"), "error");
        if (!r.ok) return W.status(W.T("sign_in_failed") + W.detail(r), "error");
        sessionStorage.setItem(TOKEN, r.data.access_token);
        W.status("");
        W.me().then(show);
      });
    });
    /* a sign-in the server no longer accepts: signed out, with the reason */
    W.signedOut = function (message) {
      sessionStorage.removeItem(TOKEN);
      show(null);
      W.status(message, "error");
    };
    document.getElementById("btn-sign-out").addEventListener("click", function () {
      sessionStorage.removeItem(TOKEN);
      show(null);
    });
    return W.me().then(show);
  };

  function setupLanguage() {
    var link = document.getElementById("lang-switch");
    if (!link) return;
    var params = new URLSearchParams(location.search);
    params.set("lang", W.config.lang === "en" ? "zh" : "en");
    link.href = location.pathname + "?" + params.toString();
  }

  /* styles of vector-tile features (VectorGrid calls them with the feature's properties) */
  W.boundStatus = function (bounds, level, households) {
    var b = bounds[level] || bounds.grid;
    return households < b[0] ? "under" : households > b[1] ? "over" : "within";
  };
  W.gridStyle = function (styles, bounds, props) {
    var colour = styles.colours[W.boundStatus(bounds, props.level, props.households)];
    var style = Object.assign({ color: colour, fillColor: colour, fill: true }, styles.levels[props.level]);
    if (props.locked) Object.assign(style, { color: "#222", dashArray: "8 4" });
    return style;
  };
  W.gridTileStyle = function (styles, bounds) {
    return function (props) {
      return W.gridStyle(styles, bounds, props);
    };
  };
  W.plainTileStyle = function (style) {
    return Object.assign({ fill: true }, style);
  };

  /* resolves wangge.drawn when every layer has drawn: inline layers at once, tile layers
     when their visible tiles have loaded */
  function watchDrawn(map, layers) {
    var waiting = Object.keys(layers).filter(function (k) {
      var layer = layers[k];
      return layer && layer._url && map.hasLayer(layer) && layer.on;
    });
    var left = waiting.length;
    function done() {
      requestAnimationFrame(function () {
        W.drawnAt = performance.now(); // ms since navigation start (bench/maps.py reads it)
        document.body.dataset.drawn = "1";
        drawnResolve(true);
      });
    }
    if (!left) return done();
    waiting.forEach(function (k) {
      layers[k].once("load", function () {
        left -= 1;
        if (!left) done();
      });
    });
  }

  // folium's scale bar shows feet too; every page shows metres only
  function metricScale(map) {
    var old = map.getContainer().querySelector(".leaflet-control-scale");
    if (old) old.parentNode.removeChild(old);
    L.control.scale({ imperial: false, metric: true }).addTo(map);
  }

  /* Leaflet.draw's hints and buttons in the page's language (the planner's and the notices
     page's polygon tool) */
  W.localiseDraw = function (map) {
    var d = L.drawLocal.draw, e = L.drawLocal.edit;
    d.toolbar.actions = { title: W.T("draw_cancel_title"), text: W.T("draw_cancel") };
    d.toolbar.finish = { title: W.T("draw_finish_title"), text: W.T("draw_finish") };
    d.toolbar.undo = { title: W.T("draw_undo_title"), text: W.T("draw_undo") };
    d.toolbar.buttons.polygon = W.T("draw_polygon");
    d.handlers.polygon.tooltip = { start: W.T("draw_start"), cont: W.T("draw_cont"), end: W.T("draw_end") };
    d.handlers.polyline.error = W.T("draw_error");
    d.handlers.polyline.tooltip = { start: W.T("draw_start"), cont: W.T("draw_cont"), end: W.T("draw_end") };
    e.toolbar.actions.save = { title: W.T("draw_save_title"), text: W.T("draw_save") };
    e.toolbar.actions.cancel = { title: W.T("draw_cancel_title"), text: W.T("draw_cancel") };
    e.toolbar.actions.clearAll = { title: W.T("draw_clear_title"), text: W.T("draw_clear") };
    e.toolbar.buttons = { edit: W.T("draw_edit_tip"), editDisabled: W.T("draw_edit_none"),
      remove: W.T("draw_remove"), removeDisabled: W.T("draw_remove_none") };
    e.handlers.edit.tooltip = { text: W.T("draw_edit_tip"), subtext: W.T("draw_edit_sub") };
    e.handlers.remove.tooltip = { text: W.T("draw_remove_tip") };
    // the toolbar was built before this page's script ran: its titles are set again
    var titles = { "leaflet-draw-draw-polygon": W.T("draw_polygon"),
      "leaflet-draw-edit-remove": W.T("draw_remove") };
    Object.keys(titles).forEach(function (cls) {
      map.getContainer().querySelectorAll("a." + cls).forEach(function (a) {
        a.title = titles[cls];
        var hidden = a.querySelector(".sr-only");
        if (hidden) hidden.textContent = titles[cls];
      });
    });
  };

  W.start = function (page, map, layers, config) {
    W.page = page;
    W.map = map;
    W.layers = layers;
    W.config = config;
    document.documentElement.lang = config.lang === "en" ? "en" : "zh-CN";
    setupLanguage();
    watchDrawn(map, layers);
    metricScale(map);
    pages[page](map, layers, config);
    document.body.dataset.ready = "1";
  };
})();
