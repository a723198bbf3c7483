/* Keeping the tablet in step with the server: the cart's offline bundle (fetched on a pass
 * page and every few minutes, kept in IndexedDB; a 403 drops it), the service worker and
 * its kept pages, and the queue sent in order to POST /api/v1/administrations/ (the same
 * API and the same rules as online) once the connection is back. */

import { renderBar } from "./bar.js";
import { markCards } from "./panels.js";
import { showWho } from "./pin.js";
import { body, bundleUrl, sessionUser, state } from "./state.js";
import { kvDelete, kvSet, loadQueue, queueAll, queueRemove } from "./store.js";

const API_CHART = "/api/v1/administrations/";
const PRECACHE_EVERY_MS = 10 * 60 * 1000;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) {
    return decodeURIComponent(match[1]);
  }
  try {
    return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch (error) {
    return "";
  }
}

// --- Sending the queue ------------------------------------------------------------------------

function sendOne(entry) {
  const headers = {
    "Content-Type": "application/json",
    Accept: "application/json",
    "X-CSRFToken": csrfToken(),
    "Idempotency-Key": entry.key,
    "X-Offline-Queued-At": entry.queued_at,
    "X-Offline-Charted-By": entry.charted_by.id,
  };
  if (entry.signature) {
    headers["X-Offline-Signature"] = entry.signature;
  }
  if (entry.dose && entry.order) {
    headers["X-Offline-Order"] = entry.order;
  }
  return fetch(API_CHART, {
    method: "POST",
    credentials: "same-origin",
    headers,
    body: entry.body,
  }).then((response) =>
    response
      .json()
      .catch(() => ({}))
      .then((data) => ({ status: response.status, data }))
  );
}

function outcome(entry, answer) {
  const base = {
    medication: entry.medication,
    resident: entry.resident,
    status_label: entry.status_label,
    by: entry.charted_by.initials,
    administered_at: entry.administered_at,
  };
  if (answer.status === 200 || answer.status === 201) {
    const record = answer.data;
    return Object.assign(base, {
      kind: "recorded",
      administered_at: record.administered_at,
      documented_at: record.documented_at,
      is_late_entry: record.is_late_entry,
      by:
        record.administered_by && record.administered_by.initials
          ? record.administered_by.initials
          : base.by,
    });
  }
  return Object.assign(base, {
    kind: answer.status === 409 || answer.data.conflict ? "conflict" : "refused",
    detail: answer.data.detail || "The server refused it (" + answer.status + ").",
  });
}

function mustWait(entry, answer) {
  // Signed out, locked or a stale CSRF token: keep the queue and ask for a sign-in.
  if (answer.status === 401 || answer.status >= 500) {
    return true;
  }
  if (answer.status === 403) {
    const detail = String(answer.data.detail || "");
    if (answer.data.locked || /CSRF|credentials|authenticat/i.test(detail)) {
      return true;
    }
    // Charted offline by the person signed in then, who has since handed the tablet
    // over: it goes when they are signed in again (nothing is dropped).
    if (!entry.signature && entry.charted_by.id !== sessionUser.id) {
      state.waitingFor = entry.charted_by.name;
      return true;
    }
  }
  return false;
}

export function sync() {
  if (state.syncing || !state.online || !sessionUser) {
    return Promise.resolve();
  }
  state.syncing = true;
  state.waitingFor = null;
  renderBar();
  let changed = false;
  const sendInOrder = (entries) =>
    entries.reduce(
      (chain, entry) =>
        chain.then((stop) => {
          if (stop) {
            return true;
          }
          return sendOne(entry).then(
            (answer) => {
              if (mustWait(entry, answer)) {
                return true;
              }
              changed = true;
              state.results.push(outcome(entry, answer));
              return kvSet("results", state.results)
                .then(() => queueRemove(entry.seq))
                .then(() => false);
            },
            () => {
              state.online = false; // the network is still gone
              return true;
            }
          );
        }),
      Promise.resolve(false)
    );
  return queueAll()
    .then(sendInOrder)
    .then(loadQueue)
    .then(() => {
      state.syncing = false;
      state.lastSync = new Date();
      renderBar();
      if (changed && state.online && !state.queue.length) {
        afterSyncDone();
      }
    })
    .catch(() => {
      state.syncing = false;
      renderBar();
    });
}

// Back online as someone else than the session's user: the next dose must be charted
// under their own session, so the tablet locks (they switch in with their PIN online).
function afterSyncDone() {
  refreshBundle();
  if (!state.acting) {
    return;
  }
  const person = state.acting;
  state.acting = null;
  kvDelete("acting").then(() => {
    showWho();
    renderBar();
    const lockButton = document.querySelector("[data-lock-form] [type=submit]");
    const overlay = document.getElementById("tablet-lock");
    if (!lockButton || !overlay) {
      return;
    }
    // Say why on the lock panel, and choose the person (the panel is fetched afresh
    // once locked: say it again then).
    const explain = () => {
      const message = overlay.querySelector("[data-lock-message]");
      if (message) {
        message.textContent =
          "The doses charted offline were sent. " + person.name +
          ": type your PIN to keep charting as yourself.";
        message.className = "lock-message lock-message-warning";
        message.hidden = false;
      }
      const radio = overlay.querySelector("input[name=user][value='" + person.id + "']");
      if (radio && !radio.disabled) {
        radio.checked = true;
      }
    };
    const watch = new MutationObserver(() => {
      watch.disconnect();
      explain();
    });
    watch.observe(overlay, { childList: true });
    lockButton.click();
    explain();
  });
}

// --- The bundle and the service worker ----------------------------------------------------------

let lastPrecache = 0;

export function setLastPrecache(at) {
  lastPrecache = at || 0;
}

function precache(bundle) {
  if (!navigator.serviceWorker) {
    return;
  }
  if (!navigator.serviceWorker.controller) {
    // The first visit: the worker takes this page over once it is active.
    navigator.serviceWorker.addEventListener("controllerchange", () => precache(bundle), {
      once: true,
    });
    return;
  }
  if (Date.now() - lastPrecache < PRECACHE_EVERY_MS) {
    return;
  }
  lastPrecache = Date.now();
  kvSet("precached_at", lastPrecache);
  const photos = (bundle.residents || []).map((resident) => resident.photo_url).filter(Boolean);
  navigator.serviceWorker.controller.postMessage({
    type: "precache",
    urls: (bundle.pages || []).concat(photos),
  });
}

export function refreshBundle() {
  if (!bundleUrl || !state.online) {
    return Promise.resolve();
  }
  // A background refresh: it must not keep an idle session alive.
  return fetch(bundleUrl, {
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-Background-Request": "1" },
  })
    .then((response) => {
      if (response.status === 403 || response.status === 404) {
        // Not (or no longer) on duty for this cart: keep nothing of it on the tablet.
        state.bundle = null;
        return kvDelete("bundle").then(() => {
          throw new Error(String(response.status));
        });
      }
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.json();
    })
    .then((bundle) => {
      state.bundle = bundle;
      return kvSet("bundle", bundle).then(() => {
        precache(bundle);
        markCards();
        renderBar();
      });
    })
    .catch(() => {
      /* offline or signed out: keep the last bundle */
    });
}

export function registerWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) {
    return Promise.resolve(null);
  }
  const url = body.getAttribute("data-service-worker");
  if (!url) {
    return Promise.resolve(null);
  }
  return navigator.serviceWorker.register(url, { scope: "/" }).catch(() => null);
}

/** Back from "offline without the browser knowing": a cheap request says so. */
export function probe() {
  if (state.online || !navigator.onLine) {
    return;
  }
  fetch("/healthz", { credentials: "same-origin", cache: "no-store" })
    .then((response) => {
      if (response.status < 500) {
        state.online = true;
        renderBar();
        sync();
      }
    })
    .catch(() => {});
}
