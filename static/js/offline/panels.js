/* The chart panels without a connection, and the marks on the dose cards.
 *
 * The panels are the online ones: the resident's pass page carries, in <template
 * data-offline-panel>, each chart panel drawn by the server from the same partials that
 * answer online (mar.views.medpass._offline_panels). Offline, "Given" / "Not given" /
 * "Give PRN" clone the panel, fill in who charts and a fresh idempotency key, and
 * confirming puts the dose in the queue (IndexedDB) instead of posting it. */

import { renderBar } from "./bar.js";
import { sign } from "./pin.js";
import {
  charter,
  clock,
  el,
  findById,
  isOffline,
  sessionUser,
  state,
  uuid4,
} from "./state.js";
import { loadQueue, queueAdd } from "./store.js";

const OFFLINE_NOTE = "Charted offline on the cart's tablet; sent when the connection returned.";
const DAY_MS = 24 * 3600 * 1000;

// --- Dose cards: what the tablet knows ------------------------------------------------------

function queuedLine(entry) {
  const line = el(
    "p",
    "record record-queued",
    entry.status_label + " " + clock(entry.administered_at) + " by " + entry.charted_by.initials
  );
  line.appendChild(el("span", "tag tag-queued", "Waiting to send"));
  return line;
}

export function markCards() {
  // Doses charted (online, by anyone) as of the last sync: no buttons on a kept page.
  ((state.bundle && state.bundle.doses) || []).forEach((dose) => {
    if (!dose.record) {
      return;
    }
    const actions = document.getElementById("panel-" + dose.id);
    const card = document.getElementById("dose-" + dose.id);
    if (!actions || !card || card.querySelector(".record")) {
      return;
    }
    actions.textContent = "";
    card.querySelector(".dose-main").appendChild(
      el(
        "p",
        "record record-" + dose.record.status,
        dose.record.status_label + " " + clock(dose.record.administered_at) + " by " + dose.record.by
      )
    );
  });
  state.queue.forEach((entry) => {
    if (!entry.dose) {
      // A PRN: its line goes on the order's card, whose button stays (the next one is
      // checked against this tablet's queue too).
      const prnCard = document.getElementById("prn-" + entry.order);
      if (prnCard && !prnCard.querySelector("[data-queued='" + entry.key + "']")) {
        const line = queuedLine(entry);
        line.setAttribute("data-queued", entry.key);
        prnCard.querySelector(".dose-main").appendChild(line);
      }
      return;
    }
    const card = document.getElementById("dose-" + entry.dose);
    const actions = document.getElementById("panel-" + entry.dose);
    if (!card || !actions || card.classList.contains("dose-card-queued")) {
      return;
    }
    card.classList.add("dose-card-queued");
    actions.textContent = "";
    card.querySelector(".dose-main").appendChild(queuedLine(entry));
  });
}

// --- Opening a panel ------------------------------------------------------------------------

// The buttons a panel replaced, to put back on Cancel.
const savedActions = new WeakMap();

function replaceActions(actions, panel) {
  if (!savedActions.has(actions)) {
    const saved = document.createDocumentFragment();
    while (actions.firstChild) {
      saved.appendChild(actions.firstChild);
    }
    savedActions.set(actions, saved);
  }
  actions.textContent = "";
  actions.appendChild(panel);
}

function restoreActions(holder) {
  holder.textContent = "";
  const saved = savedActions.get(holder);
  if (saved) {
    holder.appendChild(saved); // the buttons the page drew, as they were
    savedActions.delete(holder);
  }
}

/** A copy of the server's panel for ``key``, filled for charting offline; null if the page
 * has none (a page kept before the dose existed). */
function clonePanel(key) {
  const template = document.querySelector("template[data-offline-panel='" + key + "']");
  if (!template) {
    return null;
  }
  const panel = template.content.cloneNode(true);
  const form = panel.querySelector("form");
  form.classList.add("offline-panel");
  form.setAttribute("data-offline-form", "");
  // Drawn for a full page, it has no htmx attributes; if ever it had, they would post.
  Array.from(form.attributes)
    .filter((attribute) => attribute.name.startsWith("hx-"))
    .forEach((attribute) => form.removeAttribute(attribute.name));
  form.querySelector("[data-offline-charter]").textContent = charter().name;
  // Every dose its own key, even two PRN doses charted from the same panel.
  form.querySelector("input[name=idempotency_key]").value = uuid4();
  return { panel, form };
}

function show(actions, cloned) {
  replaceActions(actions, cloned.panel);
  // tablet.js scrolls the panel up so that its Confirm is on the screen.
  document.dispatchEvent(new CustomEvent("tablet:panel-shown", { detail: { form: cloned.form } }));
  const first =
    cloned.form.querySelector("input:not([type=hidden]):not([type=radio])") ||
    cloned.form.querySelector("button");
  if (first) {
    first.focus({ preventScroll: true });
  }
}

function openDosePanel(doseId, status) {
  const actions = document.getElementById("panel-" + doseId);
  const giving = status === "given";
  const cloned = clonePanel("dose-" + doseId + (giving ? "-given" : "-not-given"));
  if (!actions || !cloned) {
    return false;
  }
  cloned.form.setAttribute("data-dose", doseId);
  if (giving) {
    // The readings the order needs: the service refuses a given dose without them.
    cloned.form.querySelectorAll("input[name^=vital_]").forEach((input) => {
      input.required = true;
    });
  } else {
    const chosen = cloned.form.querySelector("input[name=status][value='" + status + "']");
    if (chosen) {
      chosen.checked = true;
    }
  }
  show(actions, cloned);
  return true;
}

function openPrnPanel(orderId) {
  const actions = document.getElementById("prn-panel-" + orderId);
  const cloned = clonePanel("prn-" + orderId);
  if (!actions || !cloned || !state.bundle || !findById(state.bundle.prn_orders, orderId)) {
    return false;
  }
  cloned.form.setAttribute("data-prn", orderId);
  show(actions, cloned);
  return true;
}

// --- The PRN limits offline -----------------------------------------------------------------

function fill(words, values) {
  return words.replace(/\{(\w+)\}/g, (match, name) => (name in values ? values[name] : match));
}

/* The server worked the PRN rule out (mar/prn.py) when it made the bundle: each order's
 * allowed_at, and the refusal a dose before it gets, in the words the page and the API
 * use. The tablet adds only what the server could not know, the doses it queued itself
 * since then, by a simpler rule:
 *   - a dose given under the order and waiting in the queue pushes the next allowed time to
 *     its time + the order's minimum interval;
 *   - the maximum per 24 hours counts the queued doses with the bundle's doses of the 24
 *     hours before the new one (allowed again 24 hours after the oldest of them that must
 *     fall out).
 * Doses charted by others since the last sync are not known here: the server checks every
 * limit again, against every dose, when the queue is sent. */
function prnRefusal(orderId, at) {
  const order = state.bundle ? findById(state.bundle.prn_orders, orderId) : null;
  if (!order) {
    return null;
  }
  const words = order.refusal_words;
  const stops = [];
  if (order.allowed_at) {
    stops.push({ until: new Date(order.allowed_at).getTime(), message: order.refusal });
  }
  const queued = state.queue
    .filter((entry) => !entry.dose && entry.order === orderId && entry.status === "given")
    .map((entry) => new Date(entry.administered_at).getTime());
  const interval = (order.min_interval_minutes || 0) * 60 * 1000;
  if (queued.length && interval) {
    const last = Math.max(...queued);
    const until = last + interval;
    const iso = new Date(until).toISOString();
    stops.push({
      until,
      message: fill(words.too_soon, {
        given_at: clock(new Date(last).toISOString()),
        allowed_at: clock(iso),
      }),
    });
  }
  if (order.max_per_24h) {
    const inDay = order.recent_given_at
      .map((iso) => new Date(iso).getTime())
      .concat(queued)
      .filter((t) => t > at - DAY_MS && t <= at)
      .sort((a, b) => a - b);
    if (queued.length && inDay.length >= order.max_per_24h) {
      const until = inDay[inDay.length - order.max_per_24h] + DAY_MS;
      stops.push({
        until: Infinity, // whatever the time: the count is what stops it
        message: fill(words.too_many, {
          count: inDay.length,
          at: clock(new Date(at).toISOString()),
          allowed_at: clock(new Date(until).toISOString(), true),
        }),
      });
    }
  }
  const stop = stops.filter((s) => at < s.until).sort((a, b) => b.until - a.until)[0];
  return stop ? stop.message : null;
}

// --- Confirming: into the queue -------------------------------------------------------------

function showFormError(form, text) {
  const box = form.querySelector("[data-offline-error]");
  box.textContent = text;
  box.hidden = false;
}

// A typed time is read on the facility's clock (as the server reads it), or the tablet's
// own when the bundle does not say.
function zoneParts(at, zone) {
  const parts = {};
  new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  })
    .formatToParts(new Date(at))
    .forEach((part) => {
      parts[part.type] = parseInt(part.value, 10);
    });
  return parts;
}

function zoneOffset(at, zone) {
  const p = zoneParts(at, zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at / 1000) * 1000;
}

/** The instant the facility's wall clock shows day + hours:minutes, as Python's zoneinfo
 * reads it: a time shown twice (fall back) is the first; a time the clocks skip (spring
 * forward) is read with the offset before the change, so it moves on by the hour skipped. */
function wallClock(year, month, day, hours, minutes, zone) {
  const wall = Date.UTC(year, month - 1, day, hours, minutes);
  const early = wall - zoneOffset(wall - 12 * 3600 * 1000, zone); // the offset before
  const late = wall - zoneOffset(wall + 12 * 3600 * 1000, zone); // the offset after
  const valid = [early, late].filter((at) => {
    const p = zoneParts(at, zone);
    return p.hour === hours && p.minute === minutes;
  });
  return valid.length ? Math.min(...valid) : early;
}

function knownZone(zone) {
  try {
    zoneParts(Date.now(), zone);
    return zone;
  } catch (error) {
    return undefined; // a zone this browser does not know: the tablet's own
  }
}

/** The moment nearest now at which the facility's clock shows this time, as the server
 * reads a typed time (mar.forms.local_time_to_instant): today's, or yesterday's when
 * today's is more than 12 hours ahead ("23:50" typed just after midnight); a time a few
 * hours ahead stays in the future and the server refuses it as such. */
function givenAt(value) {
  const now = new Date();
  if (!value) {
    return now;
  }
  const [hours, minutes] = value.split(":").map((part) => parseInt(part, 10));
  const zone = knownZone(state.bundle && state.bundle.facility ? state.bundle.facility.time_zone : undefined);
  const today = zoneParts(now.getTime(), zone);
  let at = wallClock(today.year, today.month, today.day, hours, minutes, zone);
  if (at - now.getTime() > 12 * 3600 * 1000) {
    at = wallClock(today.year, today.month, today.day - 1, hours, minutes, zone);
  }
  return new Date(at);
}

function labelFor(status) {
  const choice = ((state.bundle && state.bundle.not_given_choices) || []).find(
    (c) => c.value === status
  );
  return status === "given" ? "Given" : choice ? choice.label : status;
}

function whatAndWho(doseId, orderId) {
  const bundle = state.bundle || {};
  if (doseId) {
    const dose = findById(bundle.doses, doseId);
    const card = document.getElementById("dose-" + doseId);
    const banner = document.querySelector("[data-offline-resident]");
    const residentId = dose ? dose.resident : banner && banner.getAttribute("data-offline-resident");
    const resident = findById(bundle.residents, residentId);
    const medication = dose
      ? dose.medication
      : card
        ? card.querySelector(".med-name").firstChild.textContent.trim()
        : "";
    return { order: dose ? dose.order : null, medication, resident };
  }
  const order = findById(bundle.prn_orders, orderId);
  return {
    order: orderId,
    medication: order ? "PRN " + order.medication : "",
    resident: order ? findById(bundle.residents, order.resident) : null,
  };
}

function queueFromForm(form) {
  const who = charter();
  const doseId = form.getAttribute("data-dose");
  const orderId = form.getAttribute("data-prn");
  const data = new FormData(form);
  const at = givenAt(data.get("given_at"));
  const status = data.get("status") || "given";
  const note = (data.get("note") || "").trim();
  const reason = (data.get("reason") || "").trim();
  if (status === "held" && !reason) {
    showFormError(form, "Say why the dose was held.");
    return Promise.resolve(null);
  }
  if (status === "other" && !note) {
    showFormError(form, "Add a note: “Other” needs one.");
    return Promise.resolve(null);
  }
  if (orderId && status === "given") {
    const refusal = prnRefusal(orderId, at.getTime());
    if (refusal) {
      showFormError(form, refusal);
      return Promise.resolve(null);
    }
  }
  const vitals = {};
  data.forEach((value, name) => {
    if (name.indexOf("vital_") === 0 && value !== "") {
      vitals[name.slice(6)] = value;
    }
  });
  const payload = {
    scheduled_dose: doseId || null,
    order: doseId ? null : orderId,
    status,
    administered_at: at.toISOString(),
    reason,
    note: note ? note + " (" + OFFLINE_NOTE + ")" : OFFLINE_NOTE,
    vitals,
    prn_reason: (data.get("prn_reason") || "").trim(),
  };
  if (status === "given") {
    payload.scanned_code = (data.get("scanned_code") || "").trim();
    payload.scan_skipped = payload.scanned_code ? "" : data.get("scan_skipped") || "";
    if (state.bundle && state.bundle.requires_scan && !payload.scanned_code && !payload.scan_skipped) {
      showFormError(form, "Scan the package before you give it, or say why it cannot be scanned.");
      return Promise.resolve(null);
    }
  }
  const facts = whatAndWho(doseId, orderId);
  const entry = {
    key: data.get("idempotency_key") || uuid4(),
    cart: state.bundle ? state.bundle.cart.id : null,
    dose: doseId,
    order: facts.order,
    medication: facts.medication,
    resident: facts.resident ? facts.resident.name : "",
    status,
    status_label: labelFor(status),
    administered_at: payload.administered_at,
    queued_at: new Date().toISOString(),
    charted_by: { id: who.id, name: who.name, initials: who.initials },
    body: JSON.stringify(payload),
    signature: "",
  };
  const signing =
    state.acting && state.acting.id !== sessionUser.id
      ? sign(state.acting.key, entry.key + "\n" + who.id + "\n" + entry.body)
      : Promise.resolve("");
  return signing
    .then((signature) => {
      entry.signature = signature;
      return queueAdd(entry);
    })
    .then(loadQueue)
    .then(() => {
      const holder = form.parentNode;
      if (doseId) {
        holder.textContent = "";
      } else {
        restoreActions(holder); // a PRN's button stays for the next dose
      }
      markCards();
      renderBar();
      return entry;
    });
}

// --- Wiring -----------------------------------------------------------------------------------

function interceptChartLinks(event) {
  if (!isOffline() || !sessionUser) {
    return;
  }
  const link = event.target.closest("a[href]");
  if (!link || link.closest("[data-offline-form]")) {
    return;
  }
  const url = new URL(link.href, window.location.href);
  const dose = url.pathname.match(/\/pass\/doses\/([0-9a-f-]{36})\/chart\/$/);
  const prn = url.pathname.match(/\/pass\/prn\/([0-9a-f-]{36})\/give\/$/);
  if (!dose && !prn) {
    return;
  }
  event.preventDefault();
  event.stopPropagation();
  const opened = dose
    ? openDosePanel(dose[1], url.searchParams.get("status") || "given")
    : openPrnPanel(prn[1]);
  if (!opened) {
    window.alert("This dose is not in the tablet's offline copy. Chart it when the Wi-Fi is back.");
  }
}

export function installPanels() {
  // Offline, the chart links open the kept panels instead of asking the server.
  document.addEventListener("click", interceptChartLinks, true);

  document.addEventListener("click", (event) => {
    const cancel = event.target.closest("[data-offline-form] [data-panel-cancel]");
    if (cancel) {
      event.preventDefault();
      restoreActions(cancel.closest("[data-offline-form]").parentNode);
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-offline-form]");
    if (!form) {
      return;
    }
    event.preventDefault();
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    queueFromForm(form)
      .then((entry) => {
        if (!entry) {
          submit.disabled = false;
        }
      })
      .catch((error) => {
        submit.disabled = false;
        showFormError(form, "Could not keep this dose on the tablet: " + error + ". Chart it on paper.");
      });
  });
}
