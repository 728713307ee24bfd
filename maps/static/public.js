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
    var phoneScreen = window.matchMedia("(max-width: 700px)").matches;
    var foldLegend = legendFolding(); // before the popups are bound: they leave room below it
    layers.stations.eachLayer(function (marker) {
      markers[marker.options.alt] = marker;
      marker.bindPopup(popup(config.stations[marker.options.alt]), popupFit());
      marker.bindTooltip(W.el("span", { text: config.stations[marker.options.alt].name }));
      marker.on("click", function () {
        showCircles(marker.options.alt);
      });
    });
    var here = null;
    W.publicPage = { markers: markers };

    function popup(station) { // text nodes only: names and addresses come from imported data
      var box = W.el("div", { class: "station-popup" }, station.popup.map(function (line, i) {
        return W.el(i ? "div" : "b", { text: line });
      }));
      var dial = (station.phone || "").replace(/[^0-9+]/g, "");
      if (dial) {
        box.appendChild(W.el("div", {}, [
          T("phone") + ": ",
          W.el("a", { class: "tel", href: "tel:" + dial, text: station.phone }),
        ]));
      }
      return box;
    }

    /* popups that fit the map now: narrower than the screen, scrolling when taller than the
       room left between the buttons above and the scale bar and legend below (Leaflet draws
       controls over popups) */
    function popupFit() {
      var size = map.getSize();
      var below = bottomControls() + 8;
      return {
        maxWidth: Math.min(280, size.x - 60),
        maxHeight: phoneScreen ? Math.max(120, size.y - 56 - below - 30) : null,
        autoPanPaddingTopLeft: [12, 56], // clear of the zoom and layer buttons
        autoPanPaddingBottomRight: [12, below],
      };
    }

    function bottomControls() { // px the bottom corners' controls take up from the map's foot
      var foot = map.getContainer().getBoundingClientRect().bottom;
      var tops = Array.prototype.map.call(
        map.getContainer().querySelectorAll(".leaflet-bottom .leaflet-control"),
        function (control) {
          return control.getBoundingClientRect().top;
        });
      return tops.length ? Math.max(0, foot - Math.min.apply(null, tops)) : 0;
    }

    /* Leaflet pans a popup into view once, as it opens. Opened while the map was zooming or
       before its own layout settled, it stayed partly off the screen: it is fitted again, to
       the map's size and controls at that time, once both have settled. */
    map.on("popupopen", function (e) {
      var popup = e.popup;
      if (foldLegend) foldLegend(true); // on a phone the open legend would leave it no room
      function refit() {
        if (!popup.isOpen()) return;
        L.setOptions(popup, popupFit());
        popup.update(); // lays it out again and pans it into view
      }
      function whenStill() { // after a zoom that was under way or was about to start
        if (map._animatingZoom) map.once("zoomend", whenStill); // Leaflet's flag: no event
        else refit();
      }
      (document.fonts ? document.fonts.ready : Promise.resolve()).then(function () {
        requestAnimationFrame(whenStill); // laid out, the fonts loaded
      });
    });

    function legendFolding() { // on a phone the legend folds to its title, opened by a tap
      var legend = document.querySelector(".wangge-legend");
      if (!legend || !phoneScreen) return null;
      var title = legend.querySelector("b");
      var toggle = W.el("button", { type: "button", class: "legend-toggle",
        "aria-expanded": "false", text: title ? title.textContent : T("legend") });
      if (title) legend.replaceChild(toggle, title);
      else legend.insertBefore(toggle, legend.firstChild);
      L.DomEvent.disableClickPropagation(legend);
      function fold(folded) {
        legend.classList.toggle("folded", folded);
        toggle.setAttribute("aria-expanded", folded ? "false" : "true");
      }
      fold(true);
      toggle.addEventListener("click", function () {
        fold(!legend.classList.contains("folded"));
      });
      return fold;
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
      box.addEventListener("change", function () {
        applyFilter();
        var place = W.publicPage.place;
        if (place) { // the results follow the filter too
          clearResults();
          nearestFrom(place.lon, place.lat, place.label);
        }
      });
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
          info.rating ? W.el("span", { class: "rating", text: (info.stars ? " · " : "") + info.rating + " ·" }) : "",
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

    function offering(found) { // only stations offering one of the ticked functions
      var want = checked();
      if (want.length === document.querySelectorAll("input[name=function]").length) return found;
      return found.filter(function (s) {
        return (s.functions || []).some(function (f) {
          return want.indexOf(f) >= 0;
        });
      });
    }

    function clearResults() {
      document.getElementById("station-list").textContent = "";
      var candidates = document.getElementById("candidates");
      candidates.textContent = "";
      candidates.hidden = true;
      layers.circles.clearLayers();
      map.closePopup();
      if (here) map.removeLayer(here);
      here = null;
    }

    function offerCandidates(list) {
      var box = document.getElementById("candidates");
      if (!list.length) return;
      box.appendChild(W.el("li", { class: "hint", text: T("did_you_mean") }));
      list.slice(0, 5).forEach(function (c) {
        var item = W.el("li", { class: "candidate" }, [
          W.el("button", { type: "button", text: c.matched_address }),
        ]);
        item.querySelector("button").addEventListener("click", function () {
          document.getElementById("search-input").value = c.matched_address;
          search(c.matched_address);
        });
        box.appendChild(item);
      });
      box.hidden = false;
    }

    function nearestFrom(lon, lat, label) {
      W.publicPage.place = { lon: lon, lat: lat, label: label };
      here = L.circleMarker([lat, lon], {
        radius: 7, color: "#000", weight: 2, fillColor: "#ffd400", fillOpacity: 1,
      }).bindTooltip(W.el("span", { text: label })).addTo(map);
      return W.api("GET", "/api/stations/nearest?limit=50&lon=" + lon + "&lat=" + lat)
        .then(function (r) {
          if (!r.ok) return W.status(T("stations_missing") + " (" + W.detail(r) + ")", "error");
          var found = offering(r.data.stations);
          if (!found.length) return W.status(T("no_station_offers"), "error");
          var best = listNearest(found);
          W.status(best.name + " · " + T("walk_minutes", { m: Math.round(best.minutes) }), "ok");
        });
    }

    function search(q) {
      W.status(T("loading"));
      return W.api("GET", "/api/geocode?q=" + encodeURIComponent(q)).then(function (g) {
        clearResults();
        if (!g.ok || g.data.level === "none" || g.data.lon === null) {
          offerCandidates((g.ok && g.data.candidates) || []);
          return W.status(T("no_match"), "error");
        }
        return nearestFrom(g.data.lon, g.data.lat, T("your_location") + ": " +
          (g.data.matched_address || q));
      });
    }
    W.publicPage.search = search;

    document.getElementById("search").addEventListener("submit", function (event) {
      event.preventDefault();
      var q = document.getElementById("search-input").value.trim();
      if (q) search(q);
    });

    document.getElementById("btn-my-location").addEventListener("click", function () {
      if (!navigator.geolocation) return W.status(T("locate_failed", { why: "—" }), "error");
      W.status(T("locating"));
      navigator.geolocation.getCurrentPosition(function (pos) {
        clearResults();
        var lon = +pos.coords.longitude.toFixed(7);
        var lat = +pos.coords.latitude.toFixed(7);
        map.setView([lat, lon], Math.max(map.getZoom(), 16));
        nearestFrom(lon, lat, T("my_position"));
      }, function (err) {
        W.status(T("locate_failed", { why: err.message || err.code }), "error");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  });
})();
