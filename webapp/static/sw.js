// Service worker of the cabinet: pages network-first with the last copy kept for offline use
// (the card page shows its balance "as of" the time it was fetched); static files cache-first.
"use strict";
var PAGES = "cabinet-pages";
var STATIC = "cabinet-static-v2";  // bump when a file in ASSETS changes, or installed apps keep the old one
var ASSETS = ["/static/cabinet.css", "/static/cabinet.js", "/static/htmx.min.js", "/static/icons/icon.svg",
  "/static/icons/icon-192.png"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) { return cache.addAll(ASSETS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== STATIC && k !== PAGES; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }).then(refreshCard));
});

function refreshCard() {
  return fetch("/cabinet/card", { credentials: "same-origin", redirect: "manual" }).then(function (response) {
    if (response.ok && response.type === "basic") {
      return caches.open(PAGES).then(function (cache) { return cache.put("/cabinet/card", response); });
    }
  }).catch(function () {});
}

self.addEventListener("message", function (event) {
  if (event.data === "refresh-card") event.waitUntil(refreshCard());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
    return;
  }
  if (request.mode !== "navigate") return;  // htmx fragments go to the network only
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected && url.pathname === "/cabinet/card") {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { cache.put("/cabinet/card", copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(url.pathname === "/cabinet/card" || url.pathname === "/cabinet/" ? "/cabinet/card" : url.pathname)
        .then(function (hit) { return hit || cache.match("/cabinet/card"); });
    }).then(function (hit) {
      if (!hit) return Response.error();
      return hit.text().then(function (html) {  // the kept copy says it is one
        return new Response(html.replace('id="offline" hidden', 'id="offline"'), { headers: hit.headers });
      });
    });
  }));
});

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "Loyalty", {
    body: data.body || data.text || "", tag: data.tag, icon: "/static/icons/icon-192.png", data: { url: data.url || "/cabinet/card" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
