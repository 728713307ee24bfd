/* The resident's service pages: ordering (/map/order: sign in or leave a phone; a signed-in
   resident's 我的服务单 with confirm, rate and cancel) and the order's status page
   (/map/order/status#<receipt>: follow, confirm and rate, cancel). Every value from the server
   or the resident is shown as text. */
(function () {
  "use strict";
  var W = window.wangge;
  var config = W.config;
  var T = W.T;
  var S = W.service;
  var $ = function (id) {
    return document.getElementById(id);
  };

  function rating(station) {
    var official = station.stars ? T("official_stars", { s: "★".repeat(station.stars) }) : "";
    var residents = station.ratings
      ? T("resident_rating", { r: station.resident_rating.toFixed(1), n: station.ratings })
      : T("no_rating");
    return [official, residents].filter(Boolean).join(" · ");
  }

  /* POST /api/service-orders/<path> with `body`; says how it went, then after() */
  function act(path, body, done, after) {
    return W.api("POST", "/api/service-orders/" + path, body).then(function (r) {
      if (!r.ok) return W.status(T("action_failed", { why: S.failure(r) }), "error");
      W.status(done, "ok");
      return after();
    });
  }

  /* stars, a comment and the confirm button; send(stars, comment) when tapped with stars */
  function rateForm(box, send) {
    var picked = { stars: 0 };
    var stars = W.el("div", { class: "stars", role: "radiogroup" });
    W.starButtons(stars, function (n) {
      picked.stars = n;
    });
    var comment = W.el("textarea", { rows: "2", maxlength: "500", class: "rate-comment",
      placeholder: T("comment_placeholder") });
    var button = W.el("button", { type: "button", class: "primary confirm", text: T("confirm") });
    button.addEventListener("click", function () {
      if (!picked.stars) return W.status(T("rating_missing"), "error");
      send(picked.stars, comment.value.trim());
    });
    [stars, comment, button].forEach(function (n) {
      box.appendChild(n);
    });
  }

  function rated(body, stars, comment) {
    body.stars = stars;
    if (comment) body.comment = comment;
    return body;
  }

  // -- 我的服务单: the signed-in resident's orders ---------------------------------------------------

  function myOrders() {
    function item(o) {
      var li = W.el("li", { "data-order": String(o.id), "data-status": o.status }, [
        W.el("b", { text: S.local(o, "service_name") || o.service }),
        " · " + (o.station_name || ""), W.el("br"),
        W.el("span", { class: "hint", text: [T("order_no", { id: o.id }),
          T("ordered_at", { d: S.when(o.created_at) })].join(" · ") }),
        W.el("p", { class: "state", text: S.local(o, "status_text") }),
      ]);
      if (o.volunteer_name) {
        li.appendChild(W.el("p", { class: "taker", text: T("volunteer_took",
          { name: o.volunteer_name }) }));
      }
      if (o.stars) {
        li.appendChild(W.el("p", { class: "rated", text: T("rated", { n: o.stars }) }));
        if (o.comment) li.appendChild(W.el("p", { class: "hint", text: T("your_comment",
          { c: o.comment }) }));
      }
      if (o.allowed.indexOf("confirm") >= 0 || o.allowed.indexOf("rate") >= 0) {
        var box = W.el("div", { class: "rate" });
        rateForm(box, function (stars, comment) {
          act(o.id + "/confirm", rated({}, stars, comment), T("rated", { n: stars }), load);
        });
        li.appendChild(box);
      }
      if (o.allowed.indexOf("cancel") >= 0) {
        li.appendChild(W.el("button", { type: "button", class: "cancel", text: T("cancel"),
          onclick: function () {
            act(o.id + "/cancel", undefined, T("cancelled"), load);
          } }));
      }
      return li;
    }
    function load() {
      return W.api("GET", "/api/service-orders/mine").then(function (r) {
        var list = $("mine-list");
        list.textContent = "";
        if (!r.ok) return W.status(S.failure(r), "error");
        if (!r.data.length) list.appendChild(W.el("li", { class: "hint", text: T("none_my_orders") }));
        r.data.forEach(function (o) {
          list.appendChild(item(o));
        });
        document.body.dataset.mine = String(Date.now());
      });
    }
    return load;
  }

  // -- the ordering form -------------------------------------------------------------------------

  function orderPage() {
    var state = { placed: false, service: null, station: null };
    var page = (W.orderPage = { state: state });
    var shown = W.placeMap(config, function (latlng) {
      state.placed = true;
      shown.pin.setLatLng(latlng);
      loadStations(latlng);
    });
    var map = (page.map = shown.map);
    var loadMine = (page.loadMine = myOrders());
    $("btn-mine-refresh").addEventListener("click", loadMine);
    var stationLayer = L.layerGroup().addTo(map);

    var asked = 0;
    function loadStations(latlng) {
      var mine = ++asked;
      var url = "/api/service-orders/catalog?lon=" + latlng.lng.toFixed(7) + "&lat=" +
        latlng.lat.toFixed(7);
      return W.api("GET", url).then(function (r) {
        if (mine !== asked) return;
        if (!r.ok) return W.status(S.failure(r), "error");
        drawStations(r.data);
      });
    }

    function drawStations(stations) {
      var box = $("stations");
      box.textContent = "";
      stationLayer.clearLayers();
      state.service = state.station = null;
      $("service-hint").textContent = stations.length ? "" : T("no_stations");
      stations.forEach(function (s) {
        var buttons = W.el("div", { class: "services" });
        s.services.forEach(function (svc) {
          var b = W.el("button", {
            type: "button", class: "svc", role: "radio", "aria-checked": "false",
            "data-service": svc.code, "data-station": String(s.id),
          }, [W.el("b", { text: S.local(svc, "name") }),
            W.el("span", { class: "hint", text: S.local(svc, "description") })]);
          b.addEventListener("click", function () {
            box.querySelectorAll(".svc").forEach(function (other) {
              other.setAttribute("aria-checked", other === b ? "true" : "false");
            });
            state.service = svc.code;
            state.station = s.id;
          });
          buttons.appendChild(b);
        });
        L.circleMarker([s.lat, s.lon], { radius: 8, color: "#17633a", fillOpacity: 0.8 })
          .bindTooltip(W.el("span", { text: s.name }))
          .addTo(stationLayer);
        box.appendChild(W.el("div", { class: "station", "data-station": String(s.id) }, [
          W.el("h3", { text: s.name }),
          W.el("p", { class: "hint", text: S.distance(s.distance_m) + " · " + rating(s) }),
          buttons,
        ]));
      });
    }

    $("btn-send").addEventListener("click", function () {
      var address = $("address").value.trim();
      var phone = $("phone").value.trim();
      if (!state.placed && !address) return W.status(T("place_missing"), "error");
      if (!state.service) return W.status(T("service_missing"), "error");
      if (!phone && !state.user) return W.status(T("phone_missing"), "error");
      var body = { service: state.service, station_id: state.station };
      if (phone) body.phone = phone;
      if (state.placed) {
        var ll = shown.pin.getLatLng();
        body.lon = +ll.lng.toFixed(7);
        body.lat = +ll.lat.toFixed(7);
        body.crs = "wgs84";
      }
      if (address) body.address = address;
      var note = $("note").value.trim();
      if (note) body.note = note;
      var button = $("btn-send");
      button.disabled = true;
      W.status(T("sending"));
      W.api("POST", "/api/service-orders", body).then(function (r) {
        if (!r.ok) {
          button.disabled = false;
          return W.status(T("send_failed", { why: S.failure(r) }), "error");
        }
        if (state.user) {  // signed in: the order is under 我的服务单, on this page
          button.disabled = false;
          W.status(T("ordered_ok", { id: r.data.id }), "ok");
          return loadMine().then(function () {
            $("mine").scrollIntoView();
          });
        }
        location.assign("/map/order/status" + (S.en ? "?lang=en" : "") + "#" +
          encodeURIComponent(r.data.receipt));
      });
    });

    /* a resident signed in orders without a phone (optional) and sees 我的服务单; another role is
       signed out again (its orders would not be a resident's) */
    return W.setupSignIn(function (user) {
      if (user && user.role !== "resident") return W.signedOut(T("not_resident"));
      state.user = user;
      $("signed-in-note").hidden = $("mine").hidden = !user;
      $("signin-hint").hidden = !!user;
      if (user) return loadMine();
    });
  }

  // -- the status page ---------------------------------------------------------------------------

  function followPage() {
    var receipt = decodeURIComponent(location.hash.slice(1));
    var page = (W.followPage = { stars: 0 });
    W.starButtons($("star-buttons"), function (n) {
      page.stars = n;
    });

    function draw(order, station) {
      var summary = $("summary");
      summary.textContent = "";
      summary.appendChild(W.el("p", { class: "case-no", text: T("order_no", { id: order.id }) }));
      summary.appendChild(W.el("h2", { text: S.local(order, "service_name") }));
      summary.appendChild(W.el("p", { class: "now" }, [
        T("current_status"), W.el("b", { text: S.local(order, "status_text") }),
      ]));
      if (station) {
        summary.appendChild(W.el("p", { id: "station-rating" }, [
          T("station"), W.el("b", { text: station.name }), W.el("br"),
          W.el("span", { class: "hint", text: rating(station) }),
        ]));
      }
      if (order.address) summary.appendChild(W.el("p", { class: "hint", text: order.address }));
      if (order.stars) summary.appendChild(W.el("p", { text: T("rated", { n: order.stars }) }));
      var list = $("timeline");
      list.textContent = "";
      order.steps.forEach(function (s) {
        list.appendChild(W.el("li", {}, [W.el("time", { text: S.when(s.at) }),
          S.local(s, "text")]));
      });
      $("rate").hidden = order.allowed.indexOf("confirm") < 0 && order.allowed.indexOf("rate") < 0;
      $("cancel").hidden = order.allowed.indexOf("cancel") < 0;
      document.body.dataset.status = order.status;
    }

    function load() {
      return W.api("POST", "/api/service-orders/follow", { receipt: receipt }).then(function (r) {
        if (!r.ok) {
          $("summary").textContent = "";
          $("summary").appendChild(W.el("p", { class: "error",
            text: r.status === 404 || r.status === 422 ? T("receipt_missing") : S.failure(r) }));
          return;
        }
        return W.api("GET", "/api/service-orders/catalog/" + r.data.station_id).then(function (s) {
          draw(r.data, s.ok ? s.data : null);
        });
      });
    }
    page.load = load;

    $("btn-confirm").addEventListener("click", function () {
      if (!page.stars) return W.status(T("rating_missing"), "error");
      var body = rated({ receipt: receipt }, page.stars, $("rate-comment").value.trim());
      act("confirm", body, T("rated", { n: page.stars }), load);
    });
    $("btn-cancel").addEventListener("click", function () {
      act("cancel", { receipt: receipt }, T("cancelled"), load);
    });
    load();
  }

  Promise.resolve(config.follow ? followPage() : orderPage()).then(function () {
    document.body.dataset.ready = "1";
  });
})();
