/* MedTech eMAR service worker: keeps the med pass pages of the cart that was open usable
 * without Wi-Fi. Served from /sw.js (scope "/") by mar.views.offline.service_worker;
 * rendered as a template only to know the static files' URLs and a version.
 *
 * - Static files (CSS, JS, icons): from the cache first (precached at install).
 * - Med pass pages (/pass/...) and residents' photos (/media/...): from the network
 *   first; each answer is kept, and the kept copy is served when the network fails.
 *   static/js/offline/sync.js asks for the cart's pages to be kept ahead of time
 *   ("precache" message) after each bundle refresh. The pages carry their chart panels
 *   in <template>s, which the offline panels are cloned from.
 * - Everything else (the API, POSTs, other pages) is not touched: it goes to the network
 *   as if there were no service worker, so offline it fails and the page's queue takes
 *   the dose (static/js/offline/panels.js).
 *
 * A signed-out tablet drops the kept pages ("clear" message) so no resident's page
 * stays on it.
 */
"use strict";

var VERSION = "{{ version }}";
var STATIC_CACHE = "medtech-static-" + VERSION;
var PAGES_CACHE = "medtech-pages";
var PRECACHE = [{% for url in static_urls %}"{{ url|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
var STATIC_PREFIX = "{{ static_prefix|escapejs }}";
var PAGE_PREFIX = "{{ page_prefix|escapejs }}";
var MEDIA_PREFIX = "{{ media_prefix|escapejs }}";
var NETWORK_TIMEOUT_MS = 4000;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(STATIC_CACHE)
      .then(function (cache) {
        return cache.addAll(PRECACHE);
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
              return name.indexOf("medtech-static-") === 0 && name !== STATIC_CACHE;
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

function isPage(request, url) {
  return request.mode === "navigate" && url.pathname.indexOf(PAGE_PREFIX) === 0;
}

// Residents' photos: kept with the pages (and dropped with them at sign-out).
function isPhoto(request, url) {
  return request.destination === "image" && url.pathname.indexOf(MEDIA_PREFIX) === 0;
}

// A kept page must be the page itself, never a redirect to the sign-in or lock screen.
function keepable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

function pageKey(url) {
  return url.origin + url.pathname; // a search (?q=) is not kept separately
}

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () {
      reject(new Error("timeout"));
    }, ms);
    promise.then(
      function (value) {
        clearTimeout(timer);
        resolve(value);
      },
      function (error) {
        clearTimeout(timer);
        reject(error);
      }
    );
  });
}

function offlinePage() {
  return new Response(
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Offline</title>" +
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>" +
      "<body><h1>Offline</h1><p>This page was not kept on the tablet. Go back to the " +
      "cart's residents: they work offline.</p></body></html>",
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } }
  );
}

function fromNetworkThenCache(request, url) {
  var network = fetch(request).then(function (response) {
    if (keepable(response)) {
      var copy = response.clone();
      caches.open(PAGES_CACHE).then(function (cache) {
        cache.put(pageKey(url), copy);
      });
    }
    return response;
  });
  return withTimeout(network, NETWORK_TIMEOUT_MS).catch(function () {
    return caches.open(PAGES_CACHE).then(function (cache) {
      return cache.match(pageKey(url)).then(function (kept) {
        return kept || offlinePage();
      });
    });
  });
}

function fromCacheThenNetwork(request) {
  return caches.match(request).then(function (hit) {
    return (
      hit ||
      fetch(request).then(function (response) {
        if (keepable(response)) {
          var copy = response.clone();
          caches.open(STATIC_CACHE).then(function (cache) {
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
  if (request.method !== "GET") {
    return;
  }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (isPage(request, url) || isPhoto(request, url)) {
    event.respondWith(fromNetworkThenCache(request, url));
  } else if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    event.respondWith(fromCacheThenNetwork(request));
  }
});

function precache(urls) {
  return caches.open(PAGES_CACHE).then(function (cache) {
    return Promise.all(
      urls.map(function (path) {
        var url = new URL(path, self.location.origin);
        var allowed =
          url.pathname.indexOf(PAGE_PREFIX) === 0 || url.pathname.indexOf(MEDIA_PREFIX) === 0;
        if (url.origin !== self.location.origin || !allowed) {
          return null;
        }
        return fetch(url.href, {
          credentials: "same-origin",
          redirect: "follow",
          headers: { "X-Background-Request": "1" },
        })
          .then(function (response) {
            return keepable(response) ? cache.put(pageKey(url), response) : null;
          })
          .catch(function () {
            return null;
          });
      })
    );
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (event.origin && event.origin !== self.location.origin) {
    return;
  }
  if (data.type === "precache" && Array.isArray(data.urls)) {
    event.waitUntil(precache(data.urls.slice(0, 200)));
  } else if (data.type === "clear") {
    event.waitUntil(caches.delete(PAGES_CACHE));
  }
});
