/* Public page: filter stations by function, walking circles, address search → nearest center.
   It calls only public endpoints (/api/geocode, /api/stations/…), never case data. */
(function () {
  "use strict";
  var W = window.wangge;
  var T = function (k, v) {
    return W.T(k, v);
  };

  W.register("public", function (map, layers, config) {
    var markers = {};
    layers.stations.eachLayer(function (marker) {
      markers[marker.options.alt] = marker;
      marker.bindPopup(popup(config.stations[marker.options.alt].popup), { maxWidth: 280 });
      marker.bindTooltip(W.el("span", { text: config.stations[marker.options.alt].name }));
      marker.on("click", function () {
        showCircles(marker.options.alt);
      });
    });
    var here = null;
    W.publicPage = { markers: markers };

    function popup(lines) { // text nodes only: names and addresses come from imported data
      return W.el("div", {}, lines.map(function (line, i) {
        return W.el(i ? "div" : "b", { text: line });
      }));
    }

    // -- filters by the six functions ---------------------------------------------------------

    function checked() {
      return Array.prototype.filter
        .call(document.querySelectorAll("input[name=function]"), function (box) {
          return box.checked;
        })
        .map(function (box) {
          return box.value;
        });
    }

    function applyFilter() {
      var want = checked();
      var shown = 0;
      Object.keys(markers).forEach(function (id) {
        var offers = config.stations[id].functions || [];
        var visible = offers.some(function (f) {
          return want.indexOf(f) >= 0;
        });
        if (visible) {
          shown += 1;
          if (!layers.stations.hasLayer(markers[id])) layers.stations.addLayer(markers[id]);
        } else if (layers.stations.hasLayer(markers[id])) {
          layers.stations.removeLayer(markers[id]);
        }
      });
      W.publicPage.shown = shown;
    }
    document.querySelectorAll("input[name=function]").forEach(function (box) {
      box.addEventListener("change", applyFilter);
    });

    // -- 5/10/15-minute circles -----------------------------------------------------------------

    function showCircles(id) {
      layers.circles.clearLayers();
      var minutes = [15, 10, 5];
      return Promise.all(minutes.map(function (m) {
        return W.api("GET", "/api/stations/" + encodeURIComponent(id) + "/isochrone?minutes=" + m);
      })).then(function (results) {
        results.forEach(function (r, i) {
          var m = minutes[i];
          if (!r.ok) return;
          var buffer = r.data.properties && r.data.properties.method === "buffer";
          L.geoJSON(r.data, {
            style: { color: config.circleColours[m], weight: 1.5, fillOpacity: 0.15 },
          }).bindTooltip(W.el("span", { text: T("minutes_" + m) + (buffer ? T("circle_buffer") : "") })).addTo(layers.circles);
        });
        if (!results.some(function (r) {
          return r.ok;
        })) {
          W.status(T("stations_missing"), "error");
        }
        return results;
      });
    }

    // -- search → nearest center ----------------------------------------------------------------

    function stars(n) {
      return n ? new Array(n + 1).join("★") : "";
    }

    function listNearest(found) {
      var list = document.getElementById("station-list");
      list.innerHTML = "";
      var isCenter = function (s) {
        return config.centerTypes.indexOf(s.type) >= 0;
      };
      var best = found.filter(isCenter)[0] || found[0];
      found.slice(0, 8).forEach(function (s) {
        var info = config.stations[s.station_id] || {};
        var item = W.el("li", { class: s === best ? "active" : "", "data-station": s.station_id }, [
          W.el("b", { text: s.name }),
          " · " + T("walk_minutes", { m: Math.round(s.minutes) }),
          W.el("br"),
          W.el("span", { class: "stars", text: stars(info.stars) }),
          " " + (s.type || "") + (info.opening_hours ? " · " + T("opening_hours") + " " + info.opening_hours : ""),
        ]);
        item.addEventListener("click", function () {
          focus(s.station_id);
        });
        list.appendChild(item);
      });
      if (best) focus(best.station_id);
      return best;
    }

    function focus(id) {
      var marker = markers[id];
      if (marker) {
        if (!layers.stations.hasLayer(marker)) layers.stations.addLayer(marker);
        map.setView(marker.getLatLng(), Math.max(map.getZoom(), 16));
        marker.openPopup();
      }
      showCircles(id);
    }

    document.getElementById("search").addEventListener("submit", function (event) {
      event.preventDefault();
      var q = document.getElementById("search-input").value.trim();
      if (!q) return;
      W.status(T("loading"));
      W.api("GET", "/api/geocode?q=" + encodeURIComponent(q)).then(function (g) {
        if (!g.ok || g.data.level === "none" || g.data.lon === null) {
          return W.status(T("no_match"), "error");
        }
        if (here) map.removeLayer(here);
        here = L.circleMarker([g.data.lat, g.data.lon], {
          radius: 7, color: "#000", weight: 2, fillColor: "#ffd400", fillOpacity: 1,
        }).bindTooltip(W.el("span", { text: T("your_location") + ": " + (g.data.matched_address || q) })).addTo(map);
        return W.api("GET", "/api/stations/nearest?lon=" + g.data.lon + "&lat=" + g.data.lat)
          .then(function (r) {
            if (!r.ok) return W.status(T("stations_missing") + " (" + W.detail(r) + ")", "error");
            if (!r.data.stations.length) return W.status(T("no_match"), "error");
            var best = listNearest(r.data.stations);
            W.status(best.name + " · " + T("walk_minutes", { m: Math.round(best.minutes) }), "ok");
          });
      });
    });
  });
})();
