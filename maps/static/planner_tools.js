/* Planner helpers: the brush and the lasso over the buildings, and the editing session's
   undo/redo stack (the saved versions have their own undo on the server). */
(function () {
  "use strict";
  var W = window.wangge;
  var P = (W.plannerParts = W.plannerParts || {});

  /* snapshots of the edited layer, newest last; undo/redo move between them */
  P.Session = function () {
    var past = [], future = [];
    return {
      record: function (snapshot) {
        past.push(snapshot);
        future = [];
      },
      undo: function (current) {
        if (!past.length) return null;
        future.push(current);
        return past.pop();
      },
      redo: function (current) {
        if (!future.length) return null;
        past.push(current);
        return future.pop();
      },
      clear: function () {
        past = [];
        future = [];
      },
      sizes: function () {
        return [past.length, future.length];
      },
    };
  };

  function inside(point, ring) {
    var y = point[0], x = point[1], hit = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var yi = ring[i].lat, xi = ring[i].lng, yj = ring[j].lat, xj = ring[j].lng;
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }
  P.inside = inside;

  /* Brush and lasso. hooks: points() → {building_id: [lat, lng]}; footprint(id) → its
     LatLngBounds or null; size() → brush radius (px); painted(ids) while a brush stroke grows;
     stroke(ids) when it ends; lassoed(ids, add). */
  P.Tools = function (map, hooks) {
    var mode = null; // "brush" | "lasso" | null
    var stroke = null; // {ids: Set, screen: [[id, x, y]]} or {ring: [LatLng], line}
    var cursor = L.circleMarker([0, 0], {
      radius: 10, color: "#1f6feb", weight: 1.5, fillOpacity: 0.12, interactive: false,
    });

    // each building as a box on the screen: its footprint's, else its point's
    function screenBoxes() {
      var points = hooks.points() || {};
      return Object.keys(points).map(function (id) {
        var box = hooks.footprint(id);
        var a = map.latLngToContainerPoint(box ? box.getSouthWest() : points[id]);
        var b = map.latLngToContainerPoint(box ? box.getNorthEast() : points[id]);
        return [id, Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];
      });
    }

    // the brush touches a building when the circle reaches its box
    function paint(e) {
      var r = hooks.size(), x = e.containerPoint.x, y = e.containerPoint.y, grew = false;
      stroke.screen.forEach(function (b) {
        if (stroke.ids.has(b[0])) return;
        var dx = Math.max(b[1] - x, 0, x - b[3]), dy = Math.max(b[2] - y, 0, y - b[4]);
        if (dx * dx + dy * dy <= r * r) {
          stroke.ids.add(b[0]);
          grew = true;
        }
      });
      if (grew) hooks.painted(stroke.ids);
    }

    function down(e) {
      if (!mode || (e.originalEvent && e.originalEvent.button)) return;
      if (mode === "brush") {
        stroke = { ids: new Set(), screen: screenBoxes() };
        paint(e);
      } else {
        stroke = { ring: [e.latlng], add: !!(e.originalEvent && e.originalEvent.shiftKey) };
        stroke.line = L.polyline(stroke.ring, { color: "#1f6feb", weight: 2, dashArray: "4 4", interactive: false }).addTo(map);
      }
    }

    function move(e) {
      if (mode === "brush") {
        cursor.setLatLng(e.latlng).setRadius(hooks.size());
        if (!map.hasLayer(cursor)) cursor.addTo(map);
      }
      if (!stroke) return;
      if (mode === "brush") paint(e);
      else {
        stroke.ring.push(e.latlng);
        stroke.line.setLatLngs(stroke.ring);
      }
    }

    function up() {
      if (!stroke) return;
      var done = stroke;
      stroke = null;
      if (mode === "brush") return hooks.stroke(Array.from(done.ids));
      map.removeLayer(done.line);
      if (done.ring.length < 3) return;
      var points = hooks.points() || {};
      hooks.lassoed(Object.keys(points).filter(function (id) {
        return inside(points[id], done.ring);
      }), done.add);
    }

    // pointer events, so a finger paints and circles as the mouse does
    var container = map.getContainer();
    function at(handler) {
      return function (e) {
        if (!mode) return;
        var point = map.mouseEventToContainerPoint(e);
        handler({ containerPoint: point, latlng: map.containerPointToLatLng(point), originalEvent: e });
      };
    }
    container.addEventListener("pointerdown", at(down));
    container.addEventListener("pointermove", at(move));
    container.addEventListener("pointerup", up);
    container.addEventListener("pointercancel", up);
    container.addEventListener("pointerleave", up);

    return {
      mode: function () {
        return mode;
      },
      set: function (next) {
        mode = next;
        stroke = null;
        if (mode) map.dragging.disable();
        else map.dragging.enable();
        if (mode !== "brush" && map.hasLayer(cursor)) map.removeLayer(cursor);
        map.getContainer().classList.toggle("wangge-tool", !!mode);
      },
    };
  };
})();
