/* The worker app's service worker (served at /map/worker-sw.js with its settings filled in).
   Keeps the page and its scripts for offline use in a cache named by the deploy's version;
   the page itself is fetched from the network first, so a new deploy is never hidden behind
   an old copy. Answers of /api/ are never cached: they hold reporters' personal data. */
"use strict";
var SETTINGS = /*SETTINGS*/{};
var PREFIX = "wangge-worker-";
var CACHE = PREFIX + SETTINGS.version;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(function (cache) {
        return cache.addAll(SETTINGS.shell.concat([SETTINGS.page]));
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf(PREFIX) === 0 && name !== CACHE;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

function fromNetworkFirst(request) {
  return fetch(request).then(
    function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) {
          cache.put(request, copy);
        });
      }
      return response;
    },
    function () {
      return caches.match(request, { ignoreSearch: false }).then(function (hit) {
        return hit || caches.match(SETTINGS.page);
      });
    }
  );
}

function fromCacheFirst(request) {
  return caches.match(request).then(function (hit) {
    return (
      hit ||
      fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) {
            cache.put(request, copy);
          });
        }
        return response;
      })
    );
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/api/") === 0) return; // personal data: the network only
  if (request.mode === "navigate" || url.pathname === SETTINGS.page) {
    event.respondWith(fromNetworkFirst(request));
  } else if (url.pathname.indexOf("/static/maps/") === 0) {
    event.respondWith(fromCacheFirst(request));
  }
});
