// The cabinet's only script: service worker, install button, offline notice, web push opt-in,
// Telegram Mini App sign-in, emptying the offline copy on sign-out. No framework.
(function () {
  "use strict";
  var offline = document.getElementById("offline");
  // shown by the service worker on a kept copy, or here when the browser knows it is offline
  function showOffline() { if (offline && !navigator.onLine) offline.hidden = false; }
  window.addEventListener("offline", showOffline);
  showOffline();

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/cabinet/sw.js", { scope: "/cabinet/" }).then(function () {
      if (document.body.dataset.signedIn === "yes" && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage("refresh-card");
      }
    }).catch(function () {});
  }

  // after htmx swaps a page into <main>, keyboard and screen-reader users land on it, not on <body>
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "main") event.detail.target.focus({ preventScroll: true });
  });

  var installButton = document.getElementById("install");
  var deferred = null;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    deferred = event;
    if (installButton) installButton.hidden = false;
  });
  if (installButton) installButton.addEventListener("click", function () {
    if (!deferred) return;
    deferred.prompt();
    deferred = null;
    installButton.hidden = true;
  });

  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches(".logout") && window.caches) {
      caches.delete("cabinet-pages");
    }
  }, true);

  var tg = document.getElementById("tg-login");
  if (tg) {
    var data = new URLSearchParams(location.hash.slice(1)).get("tgWebAppData") ||
      (window.Telegram && Telegram.WebApp && Telegram.WebApp.initData) || "";
    if (data) { document.getElementById("init-data").value = data; tg.submit(); }
    else { location.replace("/cabinet/login"); }
  }

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function urlKey(base64) {
    var padded = (base64 + "===".slice((base64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), function (c) { return c.charCodeAt(0); });
  }
  var pushBusy = false;
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#push");
    if (!button || pushBusy) return;
    var status = document.getElementById("push-status");
    if (!("PushManager" in window) || !navigator.serviceWorker) { status.textContent = button.dataset.unsupported; return; }
    pushBusy = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error(permission);
      return Promise.all([navigator.serviceWorker.ready, fetch("/cabinet/push/key.json").then(function (r) { return r.json(); })]);
    }).then(function (got) {
      return got[0].pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlKey(got[1].key) });
    }).then(function (subscription) {
      return fetch("/cabinet/push/subscription.json", {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify(subscription)
      });
    }).then(function (response) {
      // 409: this browser's subscription belongs to another card. It stays theirs: say so once,
      // and never unsubscribe and subscribe again to get round it.
      if (response.status === 409) { status.textContent = button.dataset.taken; button.disabled = true; return; }
      if (!response.ok) throw new Error(response.status);
      status.textContent = button.dataset.on;
    }).catch(function () { status.textContent = button.dataset.unsupported; })
      .then(function () { pushBusy = false; });
  });
})();
