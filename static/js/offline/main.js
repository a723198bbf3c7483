/* MedTech eMAR: the med pass keeps going when the Wi-Fi drops. The page side of it, as ES
 * modules (loaded by templates/base.html with <script type="module">; no inline script,
 * no eval; the service worker keeps these files, mar.views.offline.PRECACHED_STATIC):
 *
 *   state.js   who is signed in, the bundle and the queue as last read, small helpers
 *   store.js   IndexedDB: the queue of doses charted offline, the bundle, the results
 *   bar.js     the bar at the top: online/offline, "N waiting", what the server answered
 *   pin.js     the Lock screen's PIN switch, checked on the tablet (Argon2id verifiers)
 *   panels.js  the chart and PRN panels offline (cloned from the server's <template>s)
 *   sync.js    the bundle, the service worker, sending the queue when the Wi-Fi is back
 *   main.js    this file: starts the rest
 *
 * - Registers the service worker (/sw.js, scope "/"), which serves the cart's pages from
 *   the tablet when the network is gone.
 * - On a pass page (an element with data-offline-bundle) and every few minutes, fetches
 *   the cart's offline bundle (mar/selectors_offline.py: residents, allergies, this pass's
 *   and the next pass's doses, PRN orders with the server's answers, PIN verifiers of the
 *   staff on duty for the cart) and keeps it in IndexedDB.
 * - Offline, "Given" / "Not given" / "Give PRN" open the panel the server drew for it;
 *   confirming puts the dose in a queue with its idempotency key, who charted it and when
 *   it was given. The bar at the top says "Offline - N waiting".
 * - Back online, the queue goes in order to the API; what the server answers is shown:
 *   recorded (with both times for a late entry), or a conflict (someone else charted it
 *   meanwhile, or the order was stopped): nothing is overwritten and the nurse is told.
 */

import { installBar, renderBar } from "./bar.js";
import { installPanels, markCards } from "./panels.js";
import { installPinSwitch, showWho } from "./pin.js";
import { sessionUser, state } from "./state.js";
import { kvDelete, kvGet, loadQueue } from "./store.js";
import { probe, refreshBundle, registerWorker, setLastPrecache, sync } from "./sync.js";

const REFRESH_MS = 3 * 60 * 1000;
const RETRY_MS = 30 * 1000;

function installConnection() {
  // Signing out: drop the kept pages and the bundle (resident data); the queue stays
  // until it is sent.
  document.addEventListener("submit", (event) => {
    if (!event.target.matches("[data-sign-out-form]")) {
      return;
    }
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "clear" });
    }
    kvDelete("bundle");
    kvDelete("acting");
  });

  // Wi-Fi without a way to the server (the browser still says "online"): htmx could not
  // send. Treat it as offline and open the offline panel for the link that was tapped.
  document.addEventListener("htmx:sendError", (event) => {
    if (!sessionUser) {
      return;
    }
    state.online = false;
    renderBar();
    const link = event.detail && event.detail.elt;
    if (link && link.matches && link.matches("a[href]")) {
      link.click(); // now intercepted by the offline click handler
    }
  });

  window.addEventListener("online", () => {
    state.online = true;
    renderBar();
    sync();
  });
  window.addEventListener("offline", () => {
    state.online = false;
    renderBar();
  });
}

function start() {
  if (!sessionUser) {
    return registerWorker();
  }
  installBar();
  installPanels();
  installPinSwitch();
  installConnection();
  return Promise.all([kvGet("bundle"), kvGet("results"), kvGet("acting"), kvGet("precached_at"), loadQueue()])
    .then(([bundle, results, acting, precachedAt]) => {
      state.bundle = bundle || null;
      state.results = results || [];
      // Someone switched in offline stays the one charting (a reload keeps it) until the
      // tablet is back online, and only over the same session.
      state.acting = acting && acting.session === sessionUser.id ? acting.person : null;
      setLastPrecache(precachedAt);
      showWho();
      markCards();
      renderBar();
      return registerWorker();
    })
    .then(() => (state.online ? refreshBundle().then(sync) : undefined));
}

function keepInStep() {
  window.setInterval(() => {
    if (state.online) {
      refreshBundle();
    }
  }, REFRESH_MS);
  window.setInterval(() => {
    if (state.online && state.queue.length) {
      sync();
    } else {
      probe();
    }
  }, RETRY_MS);
}

if ("indexedDB" in window && window.crypto && window.crypto.subtle && window.fetch) {
  start();
  if (sessionUser) {
    keepInStep();
  }
} // else an old browser: the pages still work online
