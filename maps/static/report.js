/* The resident's pages: the report form (/map/report) and the status page a receipt opens
   (/map/report/<receipt>). Every value from the server or the resident is shown as text. */
(function () {
  "use strict";
  var W = window.wangge;
  var config = JSON.parse(document.getElementById("report-config").textContent);
  W.config = config;
  var T = W.T;
  var $ = function (id) {
    return document.getElementById(id);
  };
  var MAX_PHOTOS = 3;
  var LONG_SIDE = 1600;
  document.documentElement.lang = config.lang === "en" ? "en" : "zh-CN";

  function when(iso) {
    var d = new Date(iso);
    return d.toLocaleString(config.lang === "en" ? "en-GB" : "zh-CN", {
      month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  function day(iso) {
    return new Date(iso).toLocaleDateString(config.lang === "en" ? "en-GB" : "zh-CN");
  }

  function statusText(data) {
    return config.lang === "en" ? data.status_text_en : data.status_text;
  }

  function failure(r) {
    return r.status === 0 ? T("offline") : W.detail(r);
  }

  // -- EXIF GPS: the GPS IFD of a JPEG's APP1 segment, in WGS-84 degrees -----------------------

  function exifGps(buffer) {
    var view = new DataView(buffer);
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
    var at = 2;
    while (at + 4 <= view.byteLength) {
      var marker = view.getUint16(at);
      var size = view.getUint16(at + 2);
      if (marker === 0xffe1 && view.getUint32(at + 4) === 0x45786966) return tiffGps(view, at + 10);
      if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null;
      at += 2 + size;
    }
    return null;
  }

  function tiffGps(view, start) {
    var little = view.getUint16(start) === 0x4949;
    var u16 = function (o) {
      return view.getUint16(start + o, little);
    };
    var u32 = function (o) {
      return view.getUint32(start + o, little);
    };
    function entries(ifd) {
      var out = {};
      var n = u16(ifd);
      for (var i = 0; i < n; i++) {
        var e = ifd + 2 + i * 12;
        out[u16(e)] = { type: u16(e + 2), count: u32(e + 4), at: e + 8 };
      }
      return out;
    }
    var gpsPointer = entries(u32(4))[0x8825];
    if (!gpsPointer) return null;
    var gps = entries(u32(gpsPointer.at));
    function degrees(tag) {
      var e = gps[tag];
      if (!e || e.type !== 5 || e.count !== 3) return null;
      var o = u32(e.at);
      var parts = [0, 1, 2].map(function (k) {
        var den = u32(o + k * 8 + 4);
        return den ? u32(o + k * 8) / den : 0;
      });
      return parts[0] + parts[1] / 60 + parts[2] / 3600;
    }
    function ref(tag) {
      var e = gps[tag];
      return e ? String.fromCharCode(view.getUint8(start + e.at)) : "";
    }
    var lat = degrees(2);
    var lon = degrees(4);
    if (lat === null || lon === null || (lat === 0 && lon === 0)) return null;
    return { lat: ref(1) === "S" ? -lat : lat, lon: ref(3) === "W" ? -lon : lon };
  }

  // -- photos: resized in the browser to a JPEG of at most 1600 px on the long side -----------

  function resize(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, LONG_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(img.naturalWidth * scale);
        canvas.height = Math.round(img.naturalHeight * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        canvas.toBlob(function (blob) {
          if (blob) resolve({ blob: blob, width: canvas.width, height: canvas.height });
          else reject(new Error("toBlob"));
        }, "image/jpeg", 0.82);
      };
      img.onerror = function () {
        URL.revokeObjectURL(url);
        reject(new Error("decode"));
      };
      img.src = url;
    });
  }

  // -- the report form ---------------------------------------------------------------------------

  function reportPage() {
    var state = { placed: false, category: null, photos: [], key: newKey() };
    var report = (W.reportPage = { state: state });
    var shown = W.placeMap(config, function (latlng, coords) {
      place(latlng, coords && T("located", { m: Math.round(coords.accuracy) }));
    });
    var map = shown.map;
    var pin = shown.pin;
    report.map = map;
    report.pin = pin;

    function place(latlng, note) {
      pin.setLatLng(latlng);
      state.placed = true;
      $("place-note").textContent = note || T("place_set");
      checkNearby();
    }
    report.place = place;

    // categories: top ones as big buttons with icons (in the page), sub-categories in a select
    document.querySelectorAll("#categories .cat").forEach(function (button) {
      button.addEventListener("click", function () {
        chooseTop(button.dataset.code);
      });
    });
    function chooseTop(code) {
      document.querySelectorAll("#categories .cat").forEach(function (b) {
        b.setAttribute("aria-checked", b.dataset.code === code ? "true" : "false");
      });
      var subs = config.categories.filter(function (c) {
        return c.parent === code;
      });
      var select = $("subcategory");
      select.textContent = "";
      select.appendChild(W.el("option", { value: code, text: "—" }));
      subs.forEach(function (c) {
        select.appendChild(W.el("option", { value: c.code, text: c.name }));
      });
      $("sub-label").hidden = !subs.length;
      state.category = code;
      checkNearby();
    }
    $("subcategory").addEventListener("change", function () {
      state.category = this.value;
      checkNearby();
    });

    $("leave-contact").addEventListener("change", function () {
      $("contact").hidden = !this.checked;
    });

    // photos
    $("photos").addEventListener("change", function () {
      var files = Array.prototype.slice.call(this.files || []);
      this.value = "";
      files.forEach(addPhoto);
    });
    function addPhoto(file) {
      if (state.photos.length >= MAX_PHOTOS) return W.status(T("photo_limit"), "error");
      var entry = { name: file.name, blob: null };
      state.photos.push(entry);
      var reading = file.slice(0, 256 * 1024).arrayBuffer().then(function (buf) {
        var gps = null;
        try {
          gps = exifGps(buf);
        } catch (e) {
          gps = null; // a damaged EXIF block: the photo still goes, without a place
        }
        if (gps && !state.placed) {
          map.setView([gps.lat, gps.lon], 18);
          place(L.latLng(gps.lat, gps.lon), T("place_from_photo"));
        }
        entry.gps = gps;
      });
      entry.ready = Promise.all([reading, resize(file)]).then(function (done) {
        entry.blob = done[1].blob;
        entry.width = done[1].width;
        entry.height = done[1].height;
        drawThumbs();
      }, function () {
        state.photos.splice(state.photos.indexOf(entry), 1);
        W.status(T("photo_failed", { name: file.name }), "error");
        drawThumbs();
      });
      drawThumbs();
    }
    function drawThumbs() {
      var box = $("thumbs");
      box.textContent = "";
      state.photos.forEach(function (p, i) {
        var item = W.el("div", { class: "thumb" });
        if (p.blob) item.appendChild(W.el("img", { src: URL.createObjectURL(p.blob), alt: "" }));
        var remove = W.el("button", { type: "button", "aria-label": T("remove"), text: "×" });
        remove.addEventListener("click", function () {
          state.photos.splice(i, 1);
          drawThumbs();
        });
        item.appendChild(remove);
        box.appendChild(item);
      });
      $("photo-label").hidden = state.photos.length >= MAX_PHOTOS;
    }

    // open reports of the same category nearby, offered before sending
    var asked = 0;
    function checkNearby() {
      if (!state.placed || !state.category) return Promise.resolve();
      var ll = pin.getLatLng();
      var mine = ++asked;
      var url = "/api/cases/nearby?lon=" + ll.lng.toFixed(7) + "&lat=" + ll.lat.toFixed(7) +
        "&category=" + encodeURIComponent(state.category);
      return W.api("GET", url).then(function (r) {
        if (mine !== asked) return;
        var list = $("nearby-list");
        list.textContent = "";
        var found = r.ok ? r.data : [];
        $("nearby").hidden = !found.length;
        found.forEach(function (c) {
          var button = W.el("button", { type: "button", class: "me-too" }, [
            $("icon-hand").content.firstElementChild.cloneNode(true), T("me_too"),
          ]);
          button.addEventListener("click", function () {
            meToo(c.id);
          });
          list.appendChild(W.el("li", { "data-case": String(c.id) }, [
            W.el("b", { text: c.category_name || c.category }),
            " · " + statusText(c) + " · " + T("metres_away", { m: Math.round(c.distance_m) }),
            W.el("br"),
            W.el("span", { class: "hint", text: T("reported_on", { d: day(c.reported_at) }) +
              (c.supporters ? " · " + T("supporters", { n: c.supporters }) : "") }),
            button,
          ]));
        });
        report.nearby = found;
        if (found.length) { // bring the offer into view, below the sticky title bar
          var box = $("nearby").getBoundingClientRect();
          window.scrollTo({ top: window.scrollY + box.top - 64, behavior: "smooth" });
        }
      });
    }

    function meToo(id) {
      W.api("POST", "/api/cases/" + id + "/support").then(function (r) {
        if (!r.ok) return W.status(T("send_failed", { why: failure(r) }), "error");
        var done = T("me_too_done", { n: r.data.supporters + 1, s: statusText(r.data) });
        var main = document.querySelector("main");
        main.textContent = "";
        main.appendChild(W.el("section", { id: "me-too-done" }, [
          W.el("p", { class: "done", text: done }),
          W.el("p", {}, [W.el("a", { href: "/map/report", text: T("new_report") })]),
        ]));
      });
    }

    // send: the case (JSON, with an Idempotency-Key kept across retries), then each photo
    $("btn-send").addEventListener("click", send);
    function send() {
      var description = $("description").value.trim();
      if (!state.placed) return W.status(T("place_missing"), "error");
      if (!state.category) return W.status(T("category_missing"), "error");
      if (!description) return W.status(T("description_missing"), "error");
      var ll = pin.getLatLng();
      var body = { lon: +ll.lng.toFixed(7), lat: +ll.lat.toFixed(7), crs: "wgs84",
        category: state.category, description: description };
      if ($("leave-contact").checked) {
        var name = $("reporter-name").value.trim();
        var phone = $("reporter-phone").value.trim();
        if (name) body.reporter_name = name;
        if (phone) body.reporter_phone = phone;
      }
      var button = $("btn-send");
      button.disabled = true;
      W.status(T("sending"));
      Promise.all(state.photos.map(function (p) {
        return p.ready;
      })).then(function () {
        return post("/api/cases", body, { "Idempotency-Key": state.key });
      }).then(function (r) {
        if (!r.ok) {
          button.disabled = false;
          return W.status(T("send_failed", { why: failure(r) }), "error");
        }
        remember(r.data);
        return upload(r.data.id, r.data.receipt).then(function (problem) {
          var next = "/map/report/" + encodeURIComponent(r.data.receipt) +
            (config.lang === "en" ? "?lang=en" : "");
          if (problem) {
            W.status(T("photo_upload_failed", { why: problem }), "error");
            setTimeout(function () {
              location.replace(next);
            }, 2500);
          } else {
            location.replace(next);
          }
        });
      });
    }

    function upload(id, receipt) {
      var photos = state.photos.filter(function (p) {
        return p.blob;
      });
      var problem = null;
      return photos.reduce(function (chain, p, i) {
        return chain.then(function () {
          W.status(T("uploading", { i: i + 1, n: photos.length }));
          var form = new FormData();
          form.append("file", p.blob, "photo-" + (i + 1) + ".jpg");
          form.append("receipt", receipt);
          return fetch("/api/cases/" + id + "/attachments", { method: "POST", body: form })
            .then(function (response) {
              if (!response.ok) problem = "HTTP " + response.status;
            }, function (err) {
              problem = String(err);
            });
        });
      }, Promise.resolve()).then(function () {
        return problem;
      });
    }
  }

  /* the resident's own reports on this phone: links back to their status pages */
  var MINE = "wangge.myReports";
  function mine() {
    try {
      return JSON.parse(localStorage.getItem(MINE) || "[]");
    } catch (e) {
      return [];
    }
  }
  function remember(c) {
    var list = mine().filter(function (m) {
      return m.receipt !== c.receipt;
    });
    list.unshift({ receipt: c.receipt, id: c.id, name: c.category_name || c.category, at: c.reported_at });
    localStorage.setItem(MINE, JSON.stringify(list.slice(0, 10)));
  }
  function listMine() {
    var list = mine();
    $("mine").hidden = !list.length;
    list.forEach(function (m) {
      var href = "/map/report/" + encodeURIComponent(m.receipt) + (config.lang === "en" ? "?lang=en" : "");
      $("mine-list").appendChild(W.el("li", {}, [
        W.el("a", { href: href, text: T("case_no", { id: m.id }) + " · " + m.name }),
        " · " + day(m.at),
      ]));
    });
  }

  function post(url, body, headers) {
    return fetch(url, {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json" }, headers || {}),
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () {
        return null;
      }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    }, function (err) {
      return { ok: false, status: 0, data: { detail: String(err) } };
    });
  }

  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // -- the status page ---------------------------------------------------------------------------

  function receiptPage() {
    var receipt = decodeURIComponent(location.pathname.split("/").pop());
    var page = (W.receiptPage = { rating: 0 });
    W.starButtons($("star-buttons"), function (n) {
      page.rating = n;
    });

    function load() {
      return post("/api/reports/status", { receipt: receipt }).then(function (r) {
        if (!r.ok) {
          $("summary").textContent = "";
          $("summary").appendChild(W.el("p", { class: "error",
            text: r.status === 404 ? T("receipt_missing") : failure(r) }));
          return;
        }
        page.data = r.data;
        draw(r.data);
      });
    }

    function draw(c) {
      var summary = $("summary");
      summary.textContent = "";
      summary.appendChild(W.el("p", { class: "case-no", text: T("case_no", { id: c.id }) +
        " · " + (c.category_name || c.category) }));
      summary.appendChild(W.el("p", { class: "now" }, [
        W.el("span", { class: "hint", text: T("current_status") + " " }),
        W.el("b", { id: "current-status", text: statusText(c) }),
      ]));
      if (c.supporters) {
        summary.appendChild(W.el("p", { class: "hint", text: T("supporters", { n: c.supporters }) }));
      }
      if (c.rating) summary.appendChild(W.el("p", { text: T("rated", { n: c.rating }) }));
      var list = $("timeline");
      list.textContent = "";
      c.steps.forEach(function (s) {
        list.appendChild(W.el("li", {}, [
          W.el("time", { datetime: s.at, text: when(s.at) }),
          W.el("span", { text: config.lang === "en" ? s.text_en : s.text }),
        ]));
      });
      $("rate").hidden = c.allowed.indexOf("rate") < 0;
      $("reopen").hidden = c.allowed.indexOf("reopen") < 0;
      if (c.reopen_until) $("reopen-until").textContent = T("reopen_until", { d: day(c.reopen_until) });
      ready();
    }

    function act(body, done) {
      var d = page.data;
      return post("/api/cases/" + d.id + "/transitions",
        Object.assign({ version: d.version, receipt: receipt }, body)).then(function (r) {
        if (!r.ok) return W.status(T("send_failed", { why: failure(r) }), "error");
        W.status(done, "ok");
        return load();
      });
    }

    $("btn-rate").addEventListener("click", function () {
      if (!page.rating) return W.status(T("rating_missing"), "error");
      var note = $("rate-comment").value.trim();
      act(Object.assign({ action: "rate", rating: page.rating }, note ? { note: note } : {}),
        T("rated", { n: page.rating }));
    });
    $("btn-reopen").addEventListener("click", function () {
      var note = $("reopen-note").value.trim();
      act(Object.assign({ action: "reopen" }, note ? { note: note } : {}), T("reopened"));
    });
    $("btn-copy").addEventListener("click", function () {
      var link = location.origin + location.pathname;
      (navigator.clipboard ? navigator.clipboard.writeText(link) : Promise.reject())
        .then(function () {
          W.status(T("copied"), "ok");
        }, function () {
          W.status(link);
        });
    });
    load();
  }

  /* usable: the form's script has run (or the status has arrived); bench/report_phone.py reads
     the moment in ms since navigation start */
  function ready() {
    W.readyAt = W.readyAt || performance.now();
    document.body.dataset.ready = "1";
  }

  if (config.mode === "receipt") receiptPage();
  else {
    reportPage();
    listMine();
    ready();
  }
})();
