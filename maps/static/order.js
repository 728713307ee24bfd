/* The resident's service pages: ordering (/map/order) and the order's status page
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
      if (!phone) return W.status(T("phone_missing"), "error");
      var body = { service: state.service, station_id: state.station, phone: phone };
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
        location.assign("/map/order/status" + (S.en ? "?lang=en" : "") + "#" +
          encodeURIComponent(r.data.receipt));
      });
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

    function act(path, body, done) {
      W.api("POST", "/api/service-orders/" + path, body).then(function (r) {
        if (!r.ok) return W.status(T("action_failed", { why: S.failure(r) }), "error");
        W.status(done, "ok");
        load();
      });
    }
    $("btn-confirm").addEventListener("click", function () {
      if (!page.stars) return W.status(T("rating_missing"), "error");
      var comment = $("rate-comment").value.trim();
      var body = { receipt: receipt, stars: page.stars };
      if (comment) body.comment = comment;
      act("confirm", body, T("rated", { n: page.stars }));
    });
    $("btn-cancel").addEventListener("click", function () {
      act("cancel", { receipt: receipt }, T("cancelled"));
    });
    load();
  }

  if (config.follow) followPage();
  else orderPage();
  document.body.dataset.ready = "1";
})();
