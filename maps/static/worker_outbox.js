/* The worker app's outbox: every step and photo goes through it. Kept in localStorage until the
   server has it, each with its own Idempotency-Key, so a step sent again after a lost answer
   (or after a spell offline) is recorded once. Sent one at a time, in order. */
(function () {
  "use strict";
  var STORE = "wangge.worker.outbox";
  var App = (window.wanggeWorker = window.wanggeWorker || {});

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function dataUrlToBlob(url) {
    var parts = url.split(",");
    var type = parts[0].slice(5).split(";")[0];
    var bytes = atob(parts[1]);
    var array = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) array[i] = bytes.charCodeAt(i);
    return new Blob([array], { type: type });
  }

  /* options: token() → bearer token; user() → who is signed in (an item is sent only by the
     account that took the step); onChange(items); onSent(item, answer);
     onRejected(item, answer) for a 4xx that retrying will not cure */
  App.Outbox = function (options) {
    var sending = false;
    var box = {};

    box.items = function () {
      try {
        return JSON.parse(localStorage.getItem(STORE) || "[]");
      } catch (e) {
        return [];
      }
    };

    function save(items) {
      localStorage.setItem(STORE, JSON.stringify(items));
      options.onChange(items);
    }

    /* kind "step" (body: the transition) or "photo" (photo: a data: URL) */
    box.add = function (item) {
      var items = box.items();
      item.key = newKey();
      item.tries = 0;
      item.user = options.user();
      items.push(item);
      save(items); // throws when the storage is full: the caller says so
      return box.flush();
    };

    function headers(item) {
      var h = { "Idempotency-Key": item.key };
      var token = options.token();
      if (token) h.Authorization = "Bearer " + token;
      return h;
    }

    function call(method, url, item, body) {
      var h = headers(item);
      if (!(body instanceof FormData) && body !== undefined) h["Content-Type"] = "application/json";
      var init = { method: method, headers: h };
      if (body !== undefined) init.body = body instanceof FormData ? body : JSON.stringify(body);
      return window.wangge.request(url, init);
    }

    /* A step takes the case's version when first sent; a retry sends the same body again,
       so the server can recognise it. */
    function prepare(item) {
      if (item.kind !== "step" || item.tries > 0) return Promise.resolve({ ok: true });
      return call("GET", "/api/cases/" + item.caseId, item).then(function (r) {
        if (r.ok) item.body.version = r.data.version;
        return r;
      });
    }

    function send(item) {
      if (item.kind === "photo") {
        var form = new FormData();
        form.append("file", dataUrlToBlob(item.photo), item.filename || "photo.jpg");
        return call("POST", "/api/cases/" + item.caseId + "/attachments", item, form);
      }
      return call("POST", "/api/cases/" + item.caseId + "/transitions", item, item.body);
    }

    function replace(item) {
      var items = box.items().map(function (i) {
        return i.key === item.key ? item : i;
      });
      save(items);
    }

    function drop(item) {
      save(
        box.items().filter(function (i) {
          return i.key !== item.key;
        })
      );
    }

    /* resolves true when the outbox is empty afterwards */
    box.flush = function () {
      if (sending) return Promise.resolve(false);
      if (!options.token() || !options.user()) return Promise.resolve(false);
      sending = true;
      function next() {
        var item = box.items().filter(function (i) {
          return i.user === options.user();
        })[0];
        if (!item) return Promise.resolve(true);
        return prepare(item).then(function (ready) {
          if (!ready.ok && ready.status === 0) return false; // still offline
          if (!ready.ok) return rejected(item, ready).then(next);
          item.tries += 1;
          replace(item);
          return send(item).then(function (r) {
            if (r.ok) {
              drop(item);
              options.onSent(item, r);
              return next();
            }
            if (r.status === 0 || r.status >= 500 || r.status === 429) return false;
            if (r.status === 401) return false; // signed out: kept for the next sign-in
            return rejected(item, r).then(next);
          });
        });
      }
      function rejected(item, r) {
        drop(item);
        options.onRejected(item, r);
        return Promise.resolve();
      }
      return next().then(
        function (empty) {
          sending = false;
          // an item added while the last one was being sent
          var mine = box.items().some(function (i) {
            return i.user === options.user();
          });
          if (empty && mine) return box.flush();
          return empty;
        },
        function (error) {
          sending = false;
          throw error;
        }
      );
    };

    window.addEventListener("online", function () {
      box.flush();
    });
    return box;
  };
})();
