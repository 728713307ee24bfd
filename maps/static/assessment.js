/* The street office's monthly assessment page: sign in, pick a month and worker/grid, read the
   table (click a header to sort), the formula beside it, and download CSV or Excel. Every value
   from data goes in as text (textContent), never as HTML. */
(function () {
  "use strict";
  var TOKEN = "wangge.token";
  var config = JSON.parse(document.getElementById("assessment-config").textContent);
  var T = function (key, values) {
    var s = config.text[key] || key;
    Object.keys(values || {}).forEach(function (k) {
      s = s.replace("{" + k + "}", values[k]);
    });
    return s;
  };
  var $ = function (id) {
    return document.getElementById(id);
  };
  var METRICS = ["visits", "buildings", "households_seen", "reported", "handled", "median_hours",
    "overdue_share", "rating", "attendance", "score"];
  /* names as the server sent them (社区 + 第N网格); the code only as a detail under the name */
  var COLUMNS = {
    worker: ["key", "community", "grid_name"].concat(METRICS),
    grid: ["key", "community"].concat(METRICS),
  };
  var state = { level: "worker", rows: [], sort: "score", desc: true };

  function status(message, kind) {
    $("status").textContent = message || "";
    $("status").className = kind || "";
  }

  function call(url, init) {
    init = init || {};
    init.headers = init.headers || {};
    var token = sessionStorage.getItem(TOKEN);
    if (token) init.headers.Authorization = "Bearer " + token;
    return fetch(url, init);
  }

  function detail(response) {
    return response.text().then(function (raw) {
      try {
        var d = JSON.parse(raw).detail;
        return Array.isArray(d) ? d.map(function (e) { return e.msg; }).join("; ") : String(d);
      } catch (e) {
        return "HTTP " + response.status;
      }
    });
  }

  function query(extra) {
    var q = new URLSearchParams({ month: $("month").value, level: state.level });
    if ($("area").value.trim()) q.set("area", $("area").value.trim());
    Object.keys(extra || {}).forEach(function (k) {
      q.set(k, extra[k]);
    });
    return q.toString();
  }

  function percent(v) {
    return v === null || v === undefined ? "–" : Math.round(v * 1000) / 10 + "%";
  }

  function fill(td, row, key) {
    if (key !== "key") {
      td.textContent = cell(row, key);
      return;
    }
    td.appendChild(document.createTextNode(row.name || row.key));
    var code = document.createElement("small");
    code.className = "code";
    code.textContent = row.key;
    td.appendChild(code);
  }

  function cell(row, key) {
    var v = row[key];
    if (key === "overdue_share") return percent(v);
    if (key === "attendance") {
      return percent(v) + " (" + T("days", { d: row.days_present, w: row.workdays }) + ")";
    }
    if (key === "rating") return v === null ? "–" : v.toFixed(2) + " (" + T("rated", { n: row.rated }) + ")";
    if (key === "median_hours") return v === null ? "–" : v.toFixed(1);
    return v === null || v === undefined ? "–" : String(v);
  }

  function sortValue(row, key) {
    var v = key === "key" ? row.name || row.key : row[key];
    return v === null || v === undefined ? -Infinity : v;
  }

  function drawHead() {
    var tr = document.createElement("tr");
    COLUMNS[state.level].forEach(function (key) {
      var th = document.createElement("th");
      th.dataset.col = key;
      var button = document.createElement("button");
      button.type = "button";
      button.dataset.sort = key;
      button.textContent = T(key === "key" ? "col_key_" + state.level : "col_" + key) +
        (state.sort === key ? (state.desc ? " ▼" : " ▲") : "");
      button.addEventListener("click", function () {
        state.desc = state.sort === key ? !state.desc : key !== "key";
        state.sort = key;
        draw();
      });
      th.setAttribute("aria-sort", state.sort === key ? (state.desc ? "descending" : "ascending") : "none");
      th.appendChild(button);
      tr.appendChild(th);
    });
    var head = $("table").tHead;
    head.replaceChildren(tr);
  }

  function draw() {
    drawHead();
    var rows = state.rows.slice().sort(function (a, b) {
      var x = sortValue(a, state.sort), y = sortValue(b, state.sort);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return state.desc ? -order : order;
    });
    var body = $("table").tBodies[0];
    body.replaceChildren();
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.dataset.key = row.key;
      COLUMNS[state.level].forEach(function (key) {
        var td = document.createElement("td");
        td.dataset.col = key;
        fill(td, row, key);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function load() {
    if (!sessionStorage.getItem(TOKEN)) return status(T("sign_in_first"));
    status(T("loading"));
    return call("/api/assessment?" + query()).then(function (r) {
      if (!r.ok) {
        return detail(r).then(function (d) {
          state.rows = [];
          draw();
          status(T("failed") + d, "error");
        });
      }
      return r.json().then(function (data) {
        state.rows = data.rows;
        $("formula").replaceChildren.apply($("formula"), data.formula.words.map(function (w) {
          var li = document.createElement("li");
          li.textContent = w;
          return li;
        }));
        draw();
        status(data.rows.length ? T("rows", { n: data.rows.length }) : T("empty"), "ok");
      });
    });
  }

  function download(format) {
    var name = "assessment-" + state.level + "-" + $("month").value + "." + format;
    return call("/api/assessment/export?" + query({ format: format })).then(function (r) {
      if (!r.ok) return detail(r).then(function (d) { status(T("failed") + d, "error"); });
      return r.blob().then(function (blob) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = name;
        document.body.appendChild(a);
        a.click();
        a.remove();
        status(T("downloaded", { name: name }), "ok");
      });
    });
  }

  function signedIn(user) {
    $("signin").hidden = !!user;
    $("whoami").hidden = $("btn-sign-out").hidden = !user;
    if (user) $("whoami").textContent = T("signed_in", { name: user.display_name || user.username, role: user.role });
  }

  function me() {
    if (!sessionStorage.getItem(TOKEN)) return Promise.resolve(null);
    return call("/api/auth/me").then(function (r) {
      if (r.ok) return r.json();
      sessionStorage.removeItem(TOKEN);
      return null;
    });
  }

  $("signin").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = new FormData($("signin"));
    fetch("/api/auth/token", { method: "POST", body: new URLSearchParams(form) }).then(function (r) {
      if (!r.ok) return detail(r).then(function (d) { status(T("failed") + d, "error"); });
      return r.json().then(function (data) {
        sessionStorage.setItem(TOKEN, data.access_token);
        return me().then(function (user) {
          signedIn(user);
          return load();
        });
      });
    });
  });
  $("btn-sign-out").addEventListener("click", function () {
    sessionStorage.removeItem(TOKEN);
    signedIn(null);
    state.rows = [];
    draw();
    status(T("sign_in_first"));
  });
  $("controls").addEventListener("submit", function (event) {
    event.preventDefault();
    load();
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-level]"), function (tab) {
    tab.addEventListener("click", function () {
      state.level = tab.dataset.level;
      document.querySelectorAll("[data-level]").forEach(function (t) {
        t.setAttribute("aria-selected", String(t === tab));
      });
      load();
    });
  });
  ["btn-csv", "btn-xlsx"].forEach(function (id) {
    $(id).addEventListener("click", function () {
      download($(id).dataset.format);
    });
  });
  draw();
  me().then(function (user) {
    signedIn(user);
    return load();
  }).then(function () {
    document.body.dataset.ready = "1";
  });
})();
