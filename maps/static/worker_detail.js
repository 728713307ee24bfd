/* The worker app's case detail: the timeline (steps, notes, photos before and after), the
   reporter's contact where the API shows it, navigation in Amap / Baidu Maps, and the steps:
   accept, start, note, photo, send back (with a reason), resolve (confirmed, then a few
   seconds to undo before it is sent). Every value is shown as text. */
(function () {
  "use strict";
  var App = (window.wanggeWorker = window.wanggeWorker || {});
  var UNDO_SECONDS = 5;
  var PHOTO_MAX = 1600; // px on the long side
  var STEPS = ["accept", "start", "escalate", "send_back", "resolve"];
  var before = ["reported", "dispatched"];
  var W, T, el;

  function init() {
    W = window.wangge;
    el = W.el;
    T = function (k, v) {
      return W.T(k, v);
    };
  }

  function view() {
    return document.getElementById("detail-view");
  }

  App.closeDetail = function (state) {
    init();
    state.detail = null;
    view().hidden = true;
    view().textContent = "";
    document.getElementById("list-view").hidden = false;
  };

  App.openDetail = function (state, c) {
    init();
    var again = !view().hidden && state.detail && state.detail.id === c.id;
    state.detail = c;
    var box = view();
    document.getElementById("list-view").hidden = true;
    box.hidden = false;
    if (!again) {
      draw(state, c, null, null, T("loading"));
      box.parentElement.scrollTop = 0;
      if (c.lat !== null && c.lon !== null) W.map.setView([c.lat, c.lon], Math.max(W.map.getZoom(), 17));
    }
    var id = c.id;
    Promise.all([
      W.api("GET", "/api/cases/" + id),
      W.api("GET", "/api/cases/" + id + "/navigation"),
    ]).then(function (r) {
      if (!state.detail || state.detail.id !== id) return; // another case opened meanwhile
      if (r[0].ok) state.detail = r[0].data;
      var full = r[0].ok ? r[0].data : null;
      var why = r[0].status === 0 ? T("timeline_offline") : T("failed") + W.detail(r[0]);
      draw(state, full || state.detail, full, r[1].ok ? r[1].data : null, why);
    });
  };

  App.showPending = function (c, items) {
    var list = document.getElementById("pending");
    if (!list) return;
    list.textContent = "";
    items
      .filter(function (i) {
        return i.caseId === c.id;
      })
      .forEach(function (i) {
        var what = i.kind === "photo" ? T("act_attach") : T("act_" + i.body.action);
        var note = i.kind === "step" && i.body.note ? "：" + i.body.note : "";
        list.appendChild(el("li", { class: "pending", text: T("outbox", { n: 1 }) + " · " + what + note }));
      });
  };

  function draw(state, c, full, nav, why) {
    var box = view();
    box.textContent = "";
    var who = c.assignee ? c.assignee_name || c.assignee : T("unassigned");
    box.appendChild(el("button", { type: "button", class: "back", text: T("back"), onclick: function () {
      App.closeDetail(state);
    } }));
    box.appendChild(el("h2", { "data-case-detail": String(c.id) }, [
      el("span", { text: "#" + c.id + " " + (c.category_name || c.category) + " " }),
      el("span", { class: "chip status-" + c.status, text: T("status_" + c.status) }),
    ]));
    box.appendChild(el("div", { class: "meta grid-name", text: App.gridName(c.grid_code) }));
    box.appendChild(el("div", { class: "meta assignee", text: T("assignee") + "：" + who }));
    box.appendChild(el("div", { class: "meta" }, [
      T("due") + "：" + App.when(c.due_at),
      c.overdue ? el("span", { class: "late", text: " · " + T("overdue") }) : "",
    ]));
    if (c.address) box.appendChild(el("div", { class: "meta", text: c.address }));
    box.appendChild(el("p", { class: "desc full", text: c.description || "" }));
    if (full) box.appendChild(contact(full));
    if (nav) box.appendChild(navigation(nav));
    box.appendChild(actions(state, c));
    box.appendChild(el("h3", { text: T("timeline") }));
    box.appendChild(el("ol", { id: "pending", class: "timeline" }));
    App.showPending(c, state.outbox.items());
    box.appendChild(full ? timeline(full) : el("p", { class: "hint", text: why }));
  }

  function contact(c) {
    var parts = [el("b", { text: T("reporter") + "：" })];
    if (!c.reporter_name && !c.reporter_phone) parts.push(T("reporter_hidden"));
    if (c.reporter_name) parts.push(c.reporter_name + " ");
    if (c.reporter_phone) {
      parts.push(el("a", { class: "button", href: "tel:" + c.reporter_phone.replace(/[^0-9+]/g, ""),
        text: T("call") + " " + c.reporter_phone }));
    }
    return el("div", { class: "contact" }, parts);
  }

  function navigation(nav) {
    var link = function (cls, href, label) {
      return el("a", { class: "button " + cls, href: href, target: "_blank", rel: "noopener", text: label });
    };
    return el("div", { class: "nav-links" }, [
      el("b", { text: T("navigate") + "：" }),
      link("nav-amap", nav.amap, T("amap")),
      link("nav-baidu", nav.baidu, T("baidu")),
    ]);
  }

  function actions(state, c) {
    var allowed = App.takeable(c) ? c.allowed || [] : [];
    var box = el("div", { class: "detail-actions" });
    if (allowed.indexOf("note") >= 0) {
      var note = el("textarea", { class: "note", rows: "3", placeholder: T("note_placeholder") });
      box.appendChild(note);
      box.appendChild(el("button", { type: "button", "data-action": "note", text: T("add_note"), onclick: function () {
        var text = note.value.trim();
        if (!text) return W.status(T("note_needed"), "error");
        note.value = "";
        state.send(c, { kind: "step", body: { action: "note", version: c.version, note: text } });
      } }));
    }
    if (allowed.length) box.appendChild(photoInput(state, c));
    var row = el("div", { class: "steps" });
    STEPS.filter(function (a) {
      return allowed.indexOf(a) >= 0;
    }).forEach(function (a) {
      row.appendChild(el("button", {
        type: "button",
        class: a === "resolve" || a === "accept" ? "primary" : a === "send_back" ? "warn" : "",
        "data-action": a,
        text: T(a === "send_back" ? "send_back" : a),
        onclick: function () {
          if (a === "resolve") return confirmResolve(state, c, box);
          if (a === "send_back") return askReason(state, c, box);
          state.send(c, { kind: "step", body: { action: a, version: c.version } });
        },
      }));
    });
    box.appendChild(row);
    return box;
  }

  function photoInput(state, c) {
    var input = el("input", { type: "file", accept: "image/*", capture: "environment", class: "photo-input" });
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      App.resizePhoto(file, PHOTO_MAX).then(
        function (url) {
          input.value = "";
          state.send(c, { kind: "photo", photo: url, filename: "case-" + c.id + ".jpg" });
        },
        function () {
          W.status(T("photo_failed"), "error");
        }
      );
    });
    return el("label", { class: "button photo-button" }, [T("photo"), input]);
  }

  /* a JPEG data: URL of the photo at most `max` px on its long side */
  App.resizePhoto = function (file, max) {
    return createImageBitmap(file).then(function (image) {
      var scale = Math.min(1, max / Math.max(image.width, image.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(image.width * scale);
      canvas.height = Math.round(image.height * scale);
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      return canvas.toDataURL("image/jpeg", 0.82);
    });
  };

  function dialog(box, cls, parts) {
    var old = box.querySelector(".dialog");
    if (old) old.remove();
    var d = el("div", { class: "dialog " + cls, role: "dialog" }, parts);
    box.appendChild(d);
    d.scrollIntoView({ block: "nearest" });
    return d;
  }

  function confirmResolve(state, c, box) {
    var d = dialog(box, "confirm-resolve", [
      el("p", { text: T("confirm_resolve", { id: c.id }) }),
      el("button", { type: "button", class: "primary", "data-confirm": "resolve", text: T("resolve_confirm"), onclick: function () {
        d.remove();
        scheduleResolve(state, c);
      } }),
      el("button", { type: "button", text: T("cancel"), onclick: function () {
        d.remove();
      } }),
    ]);
  }

  /* the resolve waits UNDO_SECONDS before it goes to the outbox; undo drops it */
  function scheduleResolve(state, c) {
    var bar = document.getElementById("undo-bar");
    var left = UNDO_SECONDS;
    if (state.pendingResolve) state.pendingResolve.finish(true);
    function show() {
      bar.querySelector("span").textContent = T("resolving_in", { s: left, id: c.id });
    }
    var tick = setInterval(function () {
      left -= 1;
      if (left > 0) return show();
      pending.finish(false);
    }, 1000);
    var pending = (state.pendingResolve = {
      caseId: c.id,
      finish: function (cancelled) {
        clearInterval(tick);
        bar.hidden = true;
        state.pendingResolve = null;
        if (cancelled) return W.status(T("undone", { id: c.id }), "ok");
        state.send(c, { kind: "step", body: { action: "resolve", version: c.version } });
      },
    });
    document.getElementById("btn-undo").onclick = function () {
      pending.finish(true);
    };
    show();
    bar.hidden = false;
    bar.scrollIntoView({ block: "nearest" });
  }

  function askReason(state, c, box) {
    var reason = el("textarea", { class: "reason", rows: "2", placeholder: T("send_back_reason") });
    var d = dialog(box, "send-back", [
      reason,
      el("button", { type: "button", class: "warn", "data-confirm": "send_back", text: T("send_back_confirm"), onclick: function () {
        var text = reason.value.trim();
        if (!text) return W.status(T("reason_needed"), "error");
        d.remove();
        state.send(c, { kind: "step", body: { action: "send_back", version: c.version, note: text } });
      } }),
      el("button", { type: "button", text: T("cancel"), onclick: function () {
        d.remove();
      } }),
    ]);
    reason.focus();
  }

  function actorName(e) {
    if (e.actor === "system" || e.actor === "import" || e.actor === "demo") return T(e.actor + "_actor");
    if (!e.actor || e.actor === "reporter" || e.actor === "anonymous") return T("reporter_actor");
    return e.actor_name || e.actor;
  }

  function timeline(c) {
    var list = el("ol", { id: "timeline", class: "timeline" });
    var photos = {};
    (c.attachments || []).forEach(function (a) {
      photos[a.id] = a;
    });
    (c.events || []).forEach(function (e) {
      var key = "act_" + (e.action || e.kind);
      var known = Object.prototype.hasOwnProperty.call(W.config.text, key);
      var label = known ? T(key) : T("status_" + e.to_status);
      if (known && e.from_status !== e.to_status) label += " → " + T("status_" + e.to_status);
      var li = el("li", { "data-event": e.kind, "data-action": e.action || "" }, [
        el("span", { class: "when", text: App.when(e.at) + " · " + actorName(e) }),
        el("b", { text: label }),
      ]);
      if (e.note) li.appendChild(el("p", { class: "note-text", text: e.note }));
      var attachment = e.data && e.data.attachment;
      if (attachment && photos[attachment]) {
        var stage = before.indexOf(e.from_status) >= 0 || e.actor === "reporter" ? "photo_before" : "photo_after";
        li.appendChild(el("span", { class: "stage", text: T(stage) }));
        li.appendChild(photo(c.id, attachment));
      }
      list.appendChild(li);
    });
    return list;
  }

  /* the photo's bytes need the token: fetched, then shown from a blob: URL */
  function photo(caseId, id) {
    var img = el("img", { class: "photo", alt: T("act_attach") + " " + id, "data-attachment": String(id) });
    var headers = W.token() ? { Authorization: "Bearer " + W.token() } : {};
    fetch("/api/cases/" + caseId + "/attachments/" + id, { headers: headers })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.blob();
      })
      .then(function (blob) {
        img.src = URL.createObjectURL(blob);
      })
      .catch(function () {
        img.alt = T("photo_failed");
      });
    return img;
  }
})();
