/* The field app's service worker, served as /field/sw.js with the scope /field.

   It keeps the app shell (the /field page, its CSS, script, manifest and icons) so the app opens
   on a bridge deck without a signal. It never touches the data or the writes: the data live in
   IndexedDB (static/js/field.js), every POST/PUT goes straight to the network, and
   /field/data.json is always read fresh. On a "clear" message (logout) it deletes its caches. */
"use strict";

var PREFIX = "facilities-field-";
var CACHE = PREFIX + "shell-v2";
var PAGE = "/field";
var ASSETS = [
  "/static/css/app.css",
  "/static/css/field.css",
  "/static/js/forms.js",
  "/static/js/writes.js",
  "/static/js/field.js",
  "/field/manifest.webmanifest",
  "/static/field/icon-192.png",
  "/static/field/icon-512.png"
];

function keepPage(cache, response) {
  // only the page itself: a redirect to the login form must never stand in for it
  if (response && response.ok && !response.redirected && response.type === "basic") {
    return cache.put(PAGE, response);
  }
  return Promise.resolve();
}

function clearAll() {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0;
    }).map(function (name) { return caches.delete(name); }));
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(ASSETS).then(function () {
      return fetch(PAGE, { credentials: "same-origin" }).then(function (response) {
        return keepPage(cache, response);
      });
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "clear") {
    event.waitUntil(clearAll().then(function () {
      if (event.source) { event.source.postMessage({ type: "cleared" }); }
    }));
  }
});

function isPage(url) {
  return url.pathname === PAGE || url.pathname === PAGE + "/";
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (isPage(url)) {
    // the network first (fresh page, and a login redirect when the session ended), the kept
    // page when there is no signal
    event.respondWith(fetch(request).then(function (response) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return keepPage(cache, copy); });
      return response;
    }).catch(function () {
      return caches.match(PAGE, { ignoreSearch: true }).then(function (kept) {
        return kept || Response.error();
      });
    }));
    return;
  }
  if (ASSETS.indexOf(url.pathname) === -1) { return; }
  // the kept copy at once, refreshed in the background for the next start
  event.respondWith(caches.open(CACHE).then(function (cache) {
    return cache.match(url.pathname).then(function (kept) {
      var fresh = fetch(request).then(function (response) {
        if (response.ok) { cache.put(url.pathname, response.clone()); }
        return response;
      });
      if (kept) {
        fresh.catch(function () { return null; });
        return kept;
      }
      return fresh;
    });
  }));
});
