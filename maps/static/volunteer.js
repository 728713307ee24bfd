/* The volunteer's phone page (/map/volunteer): sign in, open orders posted to me (my grid
   first, nearest first), take one, my orders with the resident's number while taken, mark
   done. Every value from the server is shown as text. */
(function () {
  "use strict";
  var W = window.wangge;
  var T = W.T;
  var S = W.service;
  var $ = function (id) {
    return document.getElementById(id);
  };
  var page = (W.volunteerPage = { position: null });

  function show(signedIn) {
    $("open").hidden = $("mine").hidden = $("my-grid").hidden = !signedIn;
  }

  function card() {
    return W.api("GET", "/api/service-orders/volunteer").then(function (r) {
      if (!r.ok) return W.status(S.failure(r), "error");
      var v = r.data;
      $("my-grid").textContent = T("my_grid", { grid: v.grid_name,
        kind: S.local(v, "kind_name"), skills: v.skills.join("、") || "—" });
    });
  }

  function describe(o) {
    return [
      W.el("b", { text: S.local(o, "service_name") || o.service }),
      " · " + (o.station_name || ""),
      W.el("br"),
      W.el("span", { class: "hint", text: [
        o.distance_m != null ? S.distance(o.distance_m) : null, o.address,
        T("ordered_at", { d: S.when(o.created_at) }),
      ].filter(Boolean).join(" · ") }),
    ];
  }

  /* fill list `id` from `url`, one item per order (an empty list says `empty`) */
  function fill(id, url, empty, item) {
    return W.api("GET", url).then(function (r) {
      var list = $(id);
      list.textContent = "";
      if (!r.ok) return W.status(S.failure(r), "error");
      if (!r.data.length) list.appendChild(W.el("li", { class: "hint", text: T(empty) }));
      r.data.forEach(function (o) {
        var li = W.el("li", { "data-order": String(o.id), "data-status": o.status }, describe(o));
        item(o, li);
        list.appendChild(li);
      });
    });
  }

  /* a big button that POSTs /api/service-orders/<id>/<step>, says how it went, reloads */
  function stepButton(o, step, cls, label, ok) {
    var button = W.el("button", { type: "button", class: "primary " + cls, text: T(label) });
    button.addEventListener("click", function () {
      button.disabled = true;
      W.api("POST", "/api/service-orders/" + o.id + "/" + step).then(function (r) {
        W.status(r.ok ? T(ok) : T("action_failed", { why: S.failure(r) }), r.ok ? "ok" : "error");
        refresh();
      });
    });
    return button;
  }

  function note(o, li) {
    if (o.note) li.appendChild(W.el("p", { class: "note", text: o.note }));
  }

  function loadOpen() {
    var where = page.position
      ? "?lon=" + page.position.lon.toFixed(7) + "&lat=" + page.position.lat.toFixed(7) : "";
    return fill("open-list", "/api/service-orders/open" + where, "none_open", function (o, li) {
      if (o.posted_to === "community") {
        li.appendChild(W.el("span", { class: "badge", text: T("whole_community") }));
      }
      note(o, li);
      li.appendChild(stepButton(o, "take", "take", "take", "taken_ok"));
    });
  }

  function loadMine() {
    return fill("mine-list", "/api/service-orders/taken", "none_mine", function (o, li) {
      li.appendChild(W.el("p", { class: "state", text: S.local(o, "status_text") }));
      note(o, li);
      if (o.stars) li.appendChild(W.el("p", { text: T("stars_given", { n: o.stars }) }));
      if (o.status !== "taken") return;
      if (o.amap) {
        li.appendChild(W.el("a", { class: "button nav", href: o.amap, target: "_blank",
          rel: "noopener noreferrer", text: T("navigate") }));
      }
      if (o.resident_phone) {
        li.appendChild(W.el("a", { class: "button call", href: "tel:" + o.resident_phone,
          text: T("call", { phone: o.resident_phone }) }));
      }
      li.appendChild(stepButton(o, "done", "done-btn", "mark_done", "done_ok"));
    });
  }

  /* a community admin's view: every order of the community, the ones nobody took flagged */
  function loadCommunity() {
    return fill("community-list", "/api/service-orders/community", "none_community",
      function (o, li) {
        li.appendChild(W.el("p", { class: "state", text: S.local(o, "status_text") }));
        if (o.posted_to === "community" && o.status === "open") {
          li.appendChild(W.el("span", { class: "badge", text: T("nobody_took") }));
        }
        note(o, li);
        if (o.resident_phone && ["open", "taken", "done"].indexOf(o.status) >= 0) {
          li.appendChild(W.el("a", { class: "button call", href: "tel:" + o.resident_phone,
            text: T("call", { phone: o.resident_phone }) }));
        }
      });
  }

  function refresh() {
    var lists = page.admin ? [loadCommunity()] : [loadOpen(), loadMine()];
    return Promise.all(lists).then(function () {
      document.body.dataset.loaded = String(Date.now());
    });
  }
  page.refresh = refresh;

  $("btn-refresh").addEventListener("click", refresh);
  $("btn-near").addEventListener("click", function () {
    W.locate(function (coords) {
      page.position = { lon: coords.longitude, lat: coords.latitude };
      loadOpen();
    });
  });

  W.setupSignIn(function (user) {
    page.admin = !!user && user.role === "community_admin";
    $("community").hidden = !page.admin;
    if (page.admin) {
      show(false);
      return refresh();
    }
    if (user && user.role !== "volunteer") {
      show(false);
      return W.status(T("not_volunteer"), "error");
    }
    show(!!user);
    if (user) card().then(refresh);
  }).then(function () {
    document.body.dataset.ready = "1";
  });
})();
