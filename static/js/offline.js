/* MedTech eMAR: the med pass keeps going when the Wi-Fi drops.
 *
 * - Registers the service worker (/sw.js, scope "/"), which serves the cart's pages
 *   from the tablet when the network is gone.
 * - On a pass page (an element with data-offline-bundle) and every few minutes, fetches
 *   the cart's offline bundle (residents, allergies, this pass's and the next pass's
 *   doses, PRN orders with their limits and recent doses, PIN verifiers of the staff
 *   on duty for the cart) and keeps it in IndexedDB. The server gives it only to
 *   someone who has taken the cart; a refusal (403) drops the kept copy.
 * - Offline, "Given" / "Not given" / "Give PRN" open a panel drawn here; confirming puts
 *   the dose in a queue in IndexedDB with its idempotency key, who charted it and the
 *   time it was given. The bar at the top says "Offline - N waiting".
 * - The Lock screen's PIN switch works offline: the PIN is checked here against the
 *   verifier (Argon2id with hash-wasm, static/vendor/hash-wasm-argon2.umd.min.js, MIT;
 *   see staff.services.pin_offline_derive); the doses of someone switched in this way
 *   are signed with a key derived from their PIN (HMAC-SHA256 with WebCrypto).
 * - Back online, the queue goes in order to POST /api/v1/administrations/ (the same API
 *   and the same rules as online); what the server answers is shown: recorded (with
 *   both times for a late entry), or a conflict (someone else charted it meanwhile, or
 *   the order was stopped): nothing is overwritten and the nurse is notified.
 *
 * No inline script, no inline style: everything is classes from static/css/offline.css.
 */
(function () {
  "use strict";

  var body = document.body;
  if (!("indexedDB" in window) || !window.crypto || !window.crypto.subtle || !window.fetch) {
    return; // an old browser: the pages still work online
  }

  var DB_NAME = "medtech-offline";
  var REFRESH_MS = 3 * 60 * 1000;
  var RETRY_MS = 30 * 1000;
  var PRECACHE_EVERY_MS = 10 * 60 * 1000;
  var API_CHART = "/api/v1/administrations/";
  var OFFLINE_NOTE = "Charted offline on the cart's tablet; sent when the connection returned.";

  var sessionUser = body.getAttribute("data-user-id")
    ? {
        id: body.getAttribute("data-user-id"),
        name: body.getAttribute("data-user-name"),
        initials: body.getAttribute("data-user-initials"),
      }
    : null;
  var bundleSource = document.querySelector("[data-offline-bundle]");
  var bundleUrl = bundleSource ? bundleSource.getAttribute("data-offline-bundle") : null;

  var state = {
    online: navigator.onLine,
    bundle: null,
    queue: [],
    results: [],
    acting: null, // someone switched in offline: {id, name, initials, key}
    syncing: false,
    lastSync: null,
  };

  // --- IndexedDB -------------------------------------------------------------------------

  var dbPromise = null;

  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          var database = request.result;
          database.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
          database.createObjectStore("kv");
        };
        request.onsuccess = function () {
          resolve(request.result);
        };
        request.onerror = function () {
          reject(request.error);
        };
      });
    }
    return dbPromise;
  }

  function tx(storeName, mode, work) {
    return db().then(function (database) {
      return new Promise(function (resolve, reject) {
        var transaction = database.transaction(storeName, mode);
        var store = transaction.objectStore(storeName);
        var result = work(store);
        transaction.oncomplete = function () {
          resolve(result && "result" in result ? result.result : result);
        };
        transaction.onerror = function () {
          reject(transaction.error);
        };
        transaction.onabort = function () {
          reject(transaction.error);
        };
      });
    });
  }

  function kvGet(key) {
    return tx("kv", "readonly", function (store) {
      return store.get(key);
    });
  }

  function kvSet(key, value) {
    return tx("kv", "readwrite", function (store) {
      store.put(value, key);
    });
  }

  function kvDelete(key) {
    return tx("kv", "readwrite", function (store) {
      store.delete(key);
    });
  }

  function queueAll() {
    return tx("queue", "readonly", function (store) {
      return store.getAll();
    }).then(function (entries) {
      return entries.sort(function (a, b) {
        return a.seq - b.seq;
      });
    });
  }

  function queueAdd(entry) {
    return tx("queue", "readwrite", function (store) {
      store.add(entry);
    });
  }

  function queueRemove(seq) {
    return tx("queue", "readwrite", function (store) {
      store.delete(seq);
    });
  }

  // --- Small helpers ---------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function zone() {
    return state.bundle && state.bundle.facility ? state.bundle.facility.time_zone : undefined;
  }

  function clock(iso) {
    if (!iso) {
      return "";
    }
    try {
      return new Intl.DateTimeFormat("en-GB", {
        hour: "2-digit",
        minute: "2-digit",
        hour12: false,
        timeZone: zone(),
      }).format(new Date(iso));
    } catch (error) {
      return new Date(iso).toTimeString().slice(0, 5);
    }
  }

  function uuid4() {
    if (crypto.randomUUID) {
      return crypto.randomUUID();
    }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
    return (
      hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20)
    );
  }

  function hex(buffer) {
    return Array.prototype.map
      .call(new Uint8Array(buffer), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function utf8(text) {
    return new TextEncoder().encode(text);
  }

  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) {
      return decodeURIComponent(match[1]);
    }
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function charter() {
    return state.acting || sessionUser;
  }

  function findDose(id) {
    var doses = (state.bundle && state.bundle.doses) || [];
    for (var i = 0; i < doses.length; i++) {
      if (doses[i].id === id) {
        return doses[i];
      }
    }
    return null;
  }

  function findById(list, id) {
    for (var i = 0; list && i < list.length; i++) {
      if (list[i].id === id) {
        return list[i];
      }
    }
    return null;
  }

  // --- The PIN, checked on the tablet ----------------------------------------------------

  // T = Argon2id(pin, salt, the verifier's cost, 32 bytes), as the server derives it.
  function derivePin(pin, params) {
    if (!window.hashwasm || !params || params.algorithm !== "argon2id") {
      return Promise.reject(new Error("This tablet cannot check this PIN offline."));
    }
    return window.hashwasm
      .argon2id({
        password: pin,
        salt: utf8(params.salt),
        parallelism: params.parallelism || 1,
        iterations: params.iterations,
        memorySize: params.memory_kib,
        hashLength: 32,
        outputType: "binary",
      })
      .then(function (stretched) {
        return Promise.all([
          crypto.subtle.digest("SHA-256", concat(utf8("verify:"), stretched)),
          crypto.subtle.digest("SHA-256", concat(utf8("sign:"), stretched)),
        ]);
      })
      .then(function (digests) {
        return crypto.subtle
          .importKey("raw", digests[1], { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
          .then(function (key) {
            return { verifier: hex(digests[0]), key: key };
          });
      });
  }

  function sameText(a, b) {
    if (a.length !== b.length) {
      return false;
    }
    var diff = 0;
    for (var i = 0; i < a.length; i++) {
      diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
    }
    return diff === 0;
  }

  function sign(key, message) {
    return crypto.subtle.sign("HMAC", key, utf8(message)).then(hex);
  }

  // --- The bar at the top: online/offline, waiting, results --------------------------------

  var bar = null;
  var resultsBox = null;

  function ensureBar() {
    if (bar || !sessionUser) {
      return;
    }
    var main = document.querySelector("main.page");
    if (!main) {
      return;
    }
    bar = el("section", "offline-bar");
    bar.setAttribute("role", "status");
    bar.setAttribute("aria-live", "polite");
    bar.setAttribute("aria-label", "Connection");
    main.insertBefore(bar, main.firstChild);
    resultsBox = el("section", "offline-results");
    resultsBox.setAttribute("aria-label", "Doses sent after the connection returned");
    main.insertBefore(resultsBox, bar.nextSibling);
  }

  function renderBar() {
    if (!sessionUser) {
      return;
    }
    var waiting = state.queue.length;
    var relevant = bundleUrl || waiting || state.results.length || !state.online;
    if (!relevant) {
      return;
    }
    ensureBar();
    if (!bar) {
      return;
    }
    bar.textContent = "";
    bar.className = "offline-bar " + (state.online ? "offline-bar-online" : "offline-bar-offline");
    var pill = el("p", "offline-state");
    if (!state.online) {
      pill.textContent = "Offline - " + waiting + " waiting";
    } else if (state.syncing) {
      pill.textContent = "Sending " + waiting + " waiting…";
    } else if (waiting) {
      pill.textContent = "Online - " + waiting + " waiting to send";
    } else {
      pill.textContent = "Online";
    }
    bar.appendChild(pill);
    var text = el("div", "offline-text");
    if (!state.online) {
      text.appendChild(
        el(
          "p",
          null,
          "Keep charting: doses are kept on this tablet and sent when the Wi-Fi is back."
        )
      );
      var since = state.bundle ? clock(state.bundle.generated_at) : "";
      text.appendChild(
        el(
          "p",
          "offline-caution",
          "Doses charted by others since the last sync" +
            (since ? " (" + since + ")" : "") +
            " may be missing here."
        )
      );
    } else if (state.bundle) {
      text.appendChild(
        el("p", "muted", "Ready for offline: last sync " + clock(state.bundle.generated_at) + ".")
      );
    }
    if (state.online && waiting && state.waitingFor) {
      text.appendChild(
        el(
          "p",
          "offline-caution",
          "Waiting for " + state.waitingFor + " to sign in on this tablet: their doses " +
            "charted offline are sent under their own name."
        )
      );
    }
    if (state.acting) {
      text.appendChild(
        el(
          "p",
          "offline-acting",
          "Charting as " + state.acting.name + " (PIN checked on this tablet)."
        )
      );
    }
    bar.appendChild(text);
    renderResults();
  }

  function renderResults() {
    if (!resultsBox) {
      return;
    }
    resultsBox.textContent = "";
    if (!state.results.length) {
      resultsBox.hidden = true;
      return;
    }
    resultsBox.hidden = false;
    var conflicts = state.results.filter(function (r) {
      return r.kind !== "recorded";
    });
    var recorded = state.results.length - conflicts.length;
    var head = el("div", "offline-results-head");
    head.appendChild(
      el(
        "h2",
        null,
        "Sent after the connection returned: " +
          recorded +
          " recorded" +
          (conflicts.length
            ? ", " + conflicts.length + " conflict" + (conflicts.length === 1 ? "" : "s")
            : "")
      )
    );
    var dismiss = el("button", "button", "Dismiss");
    dismiss.type = "button";
    dismiss.setAttribute("data-offline-dismiss", "");
    head.appendChild(dismiss);
    resultsBox.appendChild(head);
    var list = el("ul", "offline-result-list");
    // Conflicts first: they are what someone has to act on.
    conflicts.concat(
      state.results.filter(function (r) {
        return r.kind === "recorded";
      })
    ).forEach(function (result) {
      var item = el("li", "offline-result offline-result-" + result.kind);
      var what = result.medication + (result.resident ? " · " + result.resident : "");
      if (result.kind === "recorded") {
        item.appendChild(el("strong", null, "Recorded: "));
        item.appendChild(
          document.createTextNode(
            what + " · " + result.status_label + " " + clock(result.administered_at) + " by " +
              result.by + " · documented " + clock(result.documented_at)
          )
        );
        if (result.is_late_entry) {
          item.appendChild(el("span", "tag tag-late-entry", "Late entry"));
        }
      } else {
        item.appendChild(
          el("strong", null, result.kind === "conflict" ? "Conflict, not recorded: " : "Not recorded: ")
        );
        item.appendChild(
          document.createTextNode(what + " (" + result.status_label + " by " + result.by + " at " +
            clock(result.administered_at) + "). " + result.detail + " ")
        );
        item.appendChild(
          el(
            "span",
            "offline-result-note",
            result.kind === "conflict"
              ? "Nothing was overwritten. The nurse has been notified."
              : "It is not on the record: chart it again, or tell the nurse."
          )
        );
      }
      list.appendChild(item);
    });
    resultsBox.appendChild(list);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-offline-dismiss]")) {
      state.results = [];
      kvSet("results", []).then(renderBar);
    }
  });

  // --- Dose cards: what the tablet knows ----------------------------------------------------

  function queuedLine(entry) {
    var line = el(
      "p",
      "record record-queued",
      entry.status_label + " " + clock(entry.administered_at) + " by " + entry.charted_by.initials
    );
    line.appendChild(el("span", "tag tag-queued", "Waiting to send"));
    return line;
  }

  function markCards() {
    // Doses charted (online, by anyone) as of the last sync: no buttons on a kept page.
    var doses = (state.bundle && state.bundle.doses) || [];
    doses.forEach(function (dose) {
      if (!dose.record) {
        return;
      }
      var actions = document.getElementById("panel-" + dose.id);
      var card = document.getElementById("dose-" + dose.id);
      if (!actions || !card || card.querySelector(".record")) {
        return;
      }
      actions.textContent = "";
      var line = el(
        "p",
        "record record-" + dose.record.status,
        dose.record.status_label + " " + clock(dose.record.administered_at) + " by " + dose.record.by
      );
      card.querySelector(".dose-main").appendChild(line);
    });
    state.queue.forEach(function (entry) {
      if (!entry.dose) {
        // A PRN: its line goes on the order's card, whose button stays (the limits are
        // checked again, against this tablet's queue too).
        var prnActions = document.getElementById("prn-panel-" + entry.order);
        var prnCard = prnActions && prnActions.closest(".dose-card");
        if (prnCard && !prnCard.querySelector("[data-queued='" + entry.key + "']")) {
          var line = queuedLine(entry);
          line.setAttribute("data-queued", entry.key);
          prnCard.querySelector(".dose-main").appendChild(line);
        }
        return;
      }
      var card = document.getElementById("dose-" + entry.dose);
      var actions = document.getElementById("panel-" + entry.dose);
      if (!card || !actions || card.classList.contains("dose-card-queued")) {
        return;
      }
      card.classList.add("dose-card-queued");
      actions.textContent = "";
      card.querySelector(".dose-main").appendChild(queuedLine(entry));
    });
  }

  // --- Charting offline ---------------------------------------------------------------------

  function isOffline() {
    return !state.online;
  }

  function cardFacts(doseId) {
    var card = document.getElementById("dose-" + doseId);
    var dose = findDose(doseId);
    var residentId = dose ? dose.resident : null;
    var banner = document.querySelector("[data-offline-resident]");
    if (!residentId && banner) {
      residentId = banner.getAttribute("data-offline-resident");
    }
    var resident = state.bundle ? findById(state.bundle.residents, residentId) : null;
    var medication = dose
      ? dose.medication
      : card
        ? card.querySelector(".med-name").firstChild.textContent.trim()
        : "";
    return { card: card, dose: dose, resident: resident, residentId: residentId, medication: medication };
  }

  function labelled(labelText, input) {
    var wrap = document.createDocumentFragment();
    var label = el("label", null, labelText);
    label.htmlFor = input.id;
    wrap.appendChild(label);
    wrap.appendChild(input);
    return wrap;
  }

  function timeInput(id) {
    var input = el("input");
    input.type = "time";
    input.id = id;
    input.name = "given_at";
    var now = new Date();
    input.value = ("0" + now.getHours()).slice(-2) + ":" + ("0" + now.getMinutes()).slice(-2);
    return input;
  }

  function givenAt(value) {
    var now = new Date();
    if (!value) {
      return now;
    }
    var parts = value.split(":");
    var at = new Date(now.getTime());
    at.setHours(parseInt(parts[0], 10), parseInt(parts[1], 10), now.getSeconds(), 0);
    // The moment nearest now that shows this time (mar.forms.local_time_to_instant): "23:50"
    // typed just after midnight is yesterday's; a time a few hours ahead stays in the future
    // and the server refuses it as such.
    if (at.getTime() - now.getTime() > 12 * 3600 * 1000) {
      at.setDate(at.getDate() - 1);
    }
    return at;
  }

  function panelShell(kindClass, facts, what) {
    var form = el("form", "chart-panel offline-panel " + kindClass);
    form.setAttribute("data-offline-form", "");
    form.noValidate = false;
    var who = el("p", "chart-who");
    who.appendChild(el("strong", null, facts.resident ? facts.resident.name : ""));
    if (facts.resident) {
      who.appendChild(document.createTextNode(" · Room " + facts.resident.room));
    }
    form.appendChild(who);
    form.appendChild(el("p", "chart-what", what));
    if (facts.resident && facts.resident.allergies && facts.resident.allergies.length) {
      form.appendChild(
        el(
          "p",
          "allergies allergies-present",
          "Allergies: " +
            facts.resident.allergies
              .map(function (a) {
                return a.allergen;
              })
              .join(", ")
        )
      );
    }
    form.appendChild(
      el(
        "p",
        "alert alert-warning",
        "Offline: kept on this tablet as " + charter().name + " and sent when the Wi-Fi is back."
      )
    );
    var error = el("p", "alert alert-danger");
    error.setAttribute("role", "alert");
    error.setAttribute("data-offline-error", "");
    error.hidden = true;
    form.appendChild(error);
    return form;
  }

  function buttons(form, confirmText, confirmClass) {
    var row = el("div", "button-row");
    var confirm = el("button", "button button-big " + confirmClass, confirmText);
    confirm.type = "submit";
    var cancel = el("button", "button", "Cancel");
    cancel.type = "button";
    cancel.setAttribute("data-offline-cancel", "");
    row.appendChild(confirm);
    row.appendChild(cancel);
    form.appendChild(row);
  }

  function moreFields(form, prefix, noteLabel) {
    var details = el("details", "more");
    details.appendChild(el("summary", null, "Given earlier, or add a note"));
    details.appendChild(labelled("Given at", timeInput(prefix + "-given-at")));
    var note = el("textarea");
    note.id = prefix + "-note";
    note.name = "note";
    note.rows = 2;
    details.appendChild(labelled(noteLabel, note));
    form.appendChild(details);
  }

  // The package's scan, and where the community requires one, why it could not be scanned.
  function scanFields(form, prefix) {
    var code = el("input");
    code.type = "text";
    code.id = prefix + "-scan";
    code.name = "scanned_code";
    code.autocomplete = "off";
    code.setAttribute("inputmode", "none");
    var required = state.bundle && state.bundle.requires_scan;
    form.appendChild(labelled(required ? "Scan the package" : "Scan the package (optional)", code));
    if (!required) {
      return;
    }
    var skipped = el("select");
    skipped.id = prefix + "-scan-skipped";
    skipped.name = "scan_skipped";
    [{ value: "", label: "It was scanned" }]
      .concat(state.bundle.scan_skipped_choices || [])
      .forEach(function (choice) {
        var option = el("option", null, choice.label);
        option.value = choice.value;
        skipped.appendChild(option);
      });
    form.appendChild(labelled("Cannot scan it?", skipped));
  }

  // Big radio tiles for the dose's status, as the pages draw them.
  function statusTiles(legend, choices, checked, required) {
    var tiles = el("fieldset", "reason-tiles");
    tiles.appendChild(el("legend", null, legend));
    choices.forEach(function (choice) {
      var label = el("label", "reason-tile");
      var radio = el("input");
      radio.type = "radio";
      radio.name = "status";
      radio.value = choice.value;
      radio.required = required;
      radio.checked = choice.value === checked;
      label.appendChild(radio);
      label.appendChild(el("span", null, choice.label));
      tiles.appendChild(label);
    });
    return tiles;
  }

  // The buttons a panel replaced, to put back on Cancel.
  var savedActions = new WeakMap();

  function replaceActions(actions, form) {
    if (!savedActions.has(actions)) {
      var saved = document.createDocumentFragment();
      while (actions.firstChild) {
        saved.appendChild(actions.firstChild);
      }
      savedActions.set(actions, saved);
    }
    actions.textContent = "";
    actions.appendChild(form);
  }

  function openDosePanel(doseId, status) {
    var facts = cardFacts(doseId);
    var actions = document.getElementById("panel-" + doseId);
    if (!actions) {
      return;
    }
    var giving = status === "given";
    var dose = facts.dose;
    var what =
      facts.medication +
      (dose ? " · " + dose.dose + " · " + dose.route + " · " + clock(dose.scheduled_at) : "");
    var form = panelShell(giving ? "chart-panel-given" : "chart-panel-not-given", facts, what);
    form.setAttribute("data-dose", doseId);
    if (!giving) {
      var choices = (state.bundle && state.bundle.not_given_choices) || [
        { value: "refused", label: "Refused" },
      ];
      form.appendChild(statusTiles("Why was it not given?", choices, status, true));
      var reason = el("input");
      reason.type = "text";
      reason.id = "offline-reason-" + doseId;
      reason.name = "reason";
      reason.autocomplete = "off";
      form.appendChild(labelled("Why (required when held)", reason));
    }
    (dose && dose.required_vitals ? dose.required_vitals : []).forEach(function (vital) {
      var input = el("input");
      input.type = "number";
      input.step = "any";
      input.required = giving;
      input.id = "offline-vital-" + vital + "-" + doseId;
      input.name = "vital_" + vital;
      form.appendChild(labelled(vital.replace(/_/g, " "), input));
    });
    if (giving) {
      scanFields(form, "offline-" + doseId);
    }
    moreFields(form, "offline-" + doseId, "Note (required for “Other”)");
    buttons(form, giving ? "Confirm given" : "Confirm not given", giving ? "button-primary" : "button-warn");
    replaceActions(actions, form);
    var first = form.querySelector("input:not([type=hidden])") || form.querySelector("button");
    if (first) {
      first.focus({ preventScroll: true });
    }
  }

  function prnKnownDoses(orderId) {
    var order = state.bundle ? findById(state.bundle.prn_orders, orderId) : null;
    var times = (order ? order.recent_given_at : []).map(function (iso) {
      return new Date(iso).getTime();
    });
    state.queue.forEach(function (entry) {
      if (entry.order === orderId && entry.status === "given") {
        times.push(new Date(entry.administered_at).getTime());
      }
    });
    return { order: order, times: times.sort() };
  }

  // The PRN limits as mar/prn.py states them: no dose within the minimum interval of
  // another on either side, and no more than the maximum in any 24 hours around it, for the
  // doses this tablet knows (the server's at the last sync, and its own queue).
  var DAY_MS = 24 * 3600 * 1000;

  function prnBreaks(times, at, order) {
    var interval = (order.min_interval_minutes || 0) * 60 * 1000;
    var close = times.filter(function (t) {
      return Math.abs(at - t) < interval;
    });
    if (close.length) {
      return "every " + order.min_interval_minutes / 60 + " hours at most";
    }
    if (order.max_per_24h) {
      var starts = times.filter(function (t) {
        return t > at - DAY_MS && t <= at;
      });
      starts.push(at);
      var busiest = Math.max.apply(
        null,
        starts.map(function (start) {
          return times.filter(function (t) {
            return t >= start && t < start + DAY_MS;
          }).length;
        })
      );
      if (busiest >= order.max_per_24h) {
        return order.max_per_24h + " in 24 hours at most";
      }
    }
    return null;
  }

  function prnAllowedAt(orderId, at) {
    var known = prnKnownDoses(orderId);
    var order = known.order;
    if (!order) {
      return null;
    }
    var why = prnBreaks(known.times, at, order);
    if (!why) {
      return null;
    }
    var interval = (order.min_interval_minutes || 0) * 60 * 1000;
    var edges = [];
    known.times.forEach(function (t) {
      edges.push(t + interval, t + DAY_MS);
    });
    edges.sort(function (a, b) {
      return a - b;
    });
    var allowed = edges.filter(function (edge) {
      return edge > at && !prnBreaks(known.times, edge, order);
    })[0];
    return { at: allowed, why: why };
  }

  function openPrnPanel(orderId) {
    var actions = document.getElementById("prn-panel-" + orderId);
    var order = state.bundle ? findById(state.bundle.prn_orders, orderId) : null;
    if (!actions || !order) {
      return false;
    }
    var resident = findById(state.bundle.residents, order.resident);
    var facts = { resident: resident };
    var form = panelShell(
      "chart-panel-given",
      facts,
      "PRN " + order.medication + " · " + order.dose + " · " + order.route +
        (order.indication ? " · for " + order.indication : "")
    );
    form.setAttribute("data-prn", orderId);
    var limits = [];
    if (order.min_interval_minutes) {
      limits.push("at most every " + order.min_interval_minutes / 60 + " hours");
    }
    if (order.max_per_24h) {
      limits.push(order.max_per_24h + " in 24 hours");
    }
    form.appendChild(
      el(
        "p",
        "offline-caution",
        "Limits " + limits.join(", ") + ", checked against what this tablet knows: doses " +
          "charted by others since the last sync may be missing."
      )
    );
    var reason = el("input");
    reason.type = "text";
    reason.id = "offline-prn-reason-" + orderId;
    reason.name = "prn_reason";
    reason.required = true;
    reason.autocomplete = "off";
    form.appendChild(labelled("What is it for now (symptom, pain...)", reason));
    var outcomes = [
      { value: "given", label: "Given" },
      { value: "held", label: "Held (not given)" },
      { value: "refused", label: "Refused" },
    ];
    form.appendChild(statusTiles("Outcome", outcomes, "given", false));
    var why = el("input");
    why.type = "text";
    why.id = "offline-prn-why-" + orderId;
    why.name = "reason";
    why.autocomplete = "off";
    form.appendChild(labelled("Why not given (required when held)", why));
    scanFields(form, "offline-prn-" + orderId);
    moreFields(form, "offline-prn-" + orderId, "Note");
    buttons(form, "Confirm", "button-primary");
    replaceActions(actions, form);
    reason.focus({ preventScroll: true });
    return true;
  }

  // Offline, the chart links open the panels above instead of asking the server.
  document.addEventListener(
    "click",
    function (event) {
      if (!isOffline() || !sessionUser) {
        return;
      }
      var link = event.target.closest("a[href]");
      if (!link) {
        return;
      }
      var url = new URL(link.href, window.location.href);
      var dose = url.pathname.match(/\/pass\/doses\/([0-9a-f-]{36})\/chart\/$/);
      var prn = url.pathname.match(/\/pass\/prn\/([0-9a-f-]{36})\/give\/$/);
      if (dose) {
        event.preventDefault();
        event.stopPropagation();
        openDosePanel(dose[1], url.searchParams.get("status") || "given");
      } else if (prn) {
        event.preventDefault();
        event.stopPropagation();
        if (!openPrnPanel(prn[1])) {
          window.alert("This PRN order is not in the tablet's offline copy. Chart it when the Wi-Fi is back.");
        }
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-offline-cancel]");
    if (!cancel) {
      return;
    }
    var holder = cancel.closest("[data-offline-form]").parentNode;
    holder.textContent = "";
    var saved = savedActions.get(holder);
    if (saved) {
      holder.appendChild(saved); // the buttons the page drew, as they were
      savedActions.delete(holder);
    }
  });

  function showFormError(form, text) {
    var box = form.querySelector("[data-offline-error]");
    box.textContent = text;
    box.hidden = false;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-offline-form]");
    if (!form) {
      return;
    }
    event.preventDefault();
    var submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    queueFromForm(form)
      .then(function (entry) {
        if (!entry) {
          submit.disabled = false;
        }
      })
      .catch(function (error) {
        submit.disabled = false;
        showFormError(form, "Could not keep this dose on the tablet: " + error + ". Chart it on paper.");
      });
  });

  function queueFromForm(form) {
    var who = charter();
    var doseId = form.getAttribute("data-dose");
    var orderId = form.getAttribute("data-prn");
    var data = new FormData(form);
    var at = givenAt(data.get("given_at"));
    var status = data.get("status") || "given";
    var note = (data.get("note") || "").trim();
    var reason = (data.get("reason") || "").trim();
    if (status === "held" && !reason) {
      showFormError(form, "Say why the dose was held.");
      return Promise.resolve(null);
    }
    if (status === "other" && !note) {
      showFormError(form, "Add a note: “Other” needs one.");
      return Promise.resolve(null);
    }
    if (orderId && status === "given") {
      var limit = prnAllowedAt(orderId, at.getTime());
      if (limit) {
        showFormError(
          form,
          "Too soon (" + limit.why + "): next allowed at " + clock(new Date(limit.at).toISOString()) +
            ", as far as this tablet knows."
        );
        return Promise.resolve(null);
      }
    }
    var vitals = {};
    data.forEach(function (value, name) {
      if (name.indexOf("vital_") === 0 && value !== "") {
        vitals[name.slice(6)] = value;
      }
    });
    var payload = {
      scheduled_dose: doseId || null,
      order: doseId ? null : orderId,
      status: status,
      administered_at: at.toISOString(),
      reason: reason,
      note: note ? note + " (" + OFFLINE_NOTE + ")" : OFFLINE_NOTE,
      vitals: vitals,
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
    var facts = doseId ? cardFacts(doseId) : null;
    var prnOrder = orderId && state.bundle ? findById(state.bundle.prn_orders, orderId) : null;
    var resident = facts
      ? facts.resident
      : prnOrder && state.bundle
        ? findById(state.bundle.residents, prnOrder.resident)
        : null;
    var statusLabel = status === "given" ? "Given" : labelFor(status);
    var entry = {
      key: uuid4(),
      cart: state.bundle ? state.bundle.cart.id : null,
      dose: doseId,
      order: doseId ? (facts.dose ? facts.dose.order : null) : orderId,
      medication: doseId ? facts.medication : prnOrder ? "PRN " + prnOrder.medication : "",
      resident: resident ? resident.name : "",
      status: status,
      status_label: statusLabel,
      administered_at: payload.administered_at,
      queued_at: new Date().toISOString(),
      charted_by: { id: who.id, name: who.name, initials: who.initials },
      body: JSON.stringify(payload),
      signature: "",
    };
    var signing =
      state.acting && state.acting.id !== sessionUser.id
        ? sign(state.acting.key, entry.key + "\n" + who.id + "\n" + entry.body)
        : Promise.resolve("");
    return signing
      .then(function (signature) {
        entry.signature = signature;
        return queueAdd(entry);
      })
      .then(loadQueue)
      .then(function () {
        var holder = form.parentNode;
        holder.textContent = "";
        if (!doseId && savedActions.has(holder)) {
          holder.appendChild(savedActions.get(holder));
          savedActions.delete(holder);
        }
        markCards();
        renderBar();
        return entry;
      });
  }

  function labelFor(status) {
    var choices = (state.bundle && state.bundle.not_given_choices) || [];
    for (var i = 0; i < choices.length; i++) {
      if (choices[i].value === status) {
        return choices[i].label;
      }
    }
    return status;
  }

  // --- The PIN switch, offline ---------------------------------------------------------------

  function addPeopleToOverlay() {
    var overlay = document.getElementById("tablet-lock");
    var people = overlay && overlay.querySelector(".people");
    if (!people || !state.bundle) {
      return;
    }
    (state.bundle.staff || []).forEach(function (person) {
      if (people.querySelector("input[name=user][value='" + person.id + "']")) {
        return;
      }
      var label = el("label", "person");
      var radio = el("input");
      radio.type = "radio";
      radio.name = "user";
      radio.value = person.id;
      label.appendChild(radio);
      label.appendChild(el("span", "person-initials", person.initials));
      var text = el("span", "person-text");
      text.appendChild(el("span", "person-name", person.name));
      label.appendChild(text);
      people.appendChild(label);
    });
  }

  document.addEventListener("tablet:locked", function () {
    if (isOffline()) {
      addPeopleToOverlay();
    }
  });

  document.addEventListener("tablet:unlock-offline", function (event) {
    var detail = event.detail;
    var chosen = detail.form.querySelector("input[name=user]:checked");
    var pin = detail.form.querySelector("[data-pin-input]").value;
    var person = state.bundle ? findById(state.bundle.staff, chosen && chosen.value) : null;
    if (!person) {
      return; // not someone this tablet can check: tablet.js says "no connection"
    }
    event.preventDefault();
    detail.say("No connection: checking the PIN on this tablet…", "busy");
    derivePin(pin, person.pin)
      .then(function (derived) {
        if (!sameText(derived.verifier, person.pin.verifier)) {
          detail.say("Wrong PIN for " + person.name + ". Try again.", "error");
          return;
        }
        var acting =
          person.id === sessionUser.id
            ? null
            : { id: person.id, name: person.name, initials: person.initials, key: derived.key };
        var save = acting ? kvSet("acting", { session: sessionUser.id, person: acting }) : kvDelete("acting");
        return save.then(function () {
          state.acting = acting;
          showWho();
          detail.unlocked();
          renderBar();
        });
      })
      .catch(function () {
        detail.say("The PIN could not be checked on this tablet. Sign in when the Wi-Fi is back.", "error");
      });
  });

  function showWho() {
    var who = document.querySelector(".topbar .who");
    if (!who || !who.firstChild) {
      return;
    }
    var name = (state.acting || sessionUser).name;
    who.firstChild.textContent = name + " ";
    who.classList.toggle("who-offline", !!state.acting);
  }

  // --- Sending the queue ----------------------------------------------------------------------

  function sendOne(entry) {
    var headers = {
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
      headers: headers,
      body: entry.body,
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          return { status: response.status, data: data };
        });
    });
  }

  function outcome(entry, answer) {
    var base = {
      medication: entry.medication,
      resident: entry.resident,
      status_label: entry.status_label,
      by: entry.charted_by.initials,
      administered_at: entry.administered_at,
    };
    if (answer.status === 200 || answer.status === 201) {
      var record = answer.data;
      base.kind = "recorded";
      base.administered_at = record.administered_at;
      base.documented_at = record.documented_at;
      base.is_late_entry = record.is_late_entry;
      base.by = record.administered_by && record.administered_by.initials ? record.administered_by.initials : base.by;
      return base;
    }
    base.kind = answer.status === 409 || answer.data.conflict ? "conflict" : "refused";
    base.detail = answer.data.detail || "The server refused it (" + answer.status + ").";
    return base;
  }

  function mustWait(entry, answer) {
    // Signed out, locked or a stale CSRF token: keep the queue and ask for a sign-in.
    if (answer.status === 401 || answer.status >= 500) {
      return true;
    }
    if (answer.status === 403) {
      var detail = String(answer.data.detail || "");
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

  function sync() {
    if (state.syncing || !state.online || !sessionUser) {
      return Promise.resolve();
    }
    state.syncing = true;
    state.waitingFor = null;
    renderBar();
    var changed = false;
    return queueAll()
      .then(function (entries) {
        var chain = Promise.resolve(false);
        entries.forEach(function (entry) {
          chain = chain.then(function (stop) {
            if (stop) {
              return true;
            }
            return sendOne(entry).then(
              function (answer) {
                if (mustWait(entry, answer)) {
                  return true;
                }
                changed = true;
                state.results.push(outcome(entry, answer));
                return kvSet("results", state.results)
                  .then(function () {
                    return queueRemove(entry.seq);
                  })
                  .then(function () {
                    return false;
                  });
              },
              function () {
                state.online = false; // the network is still gone
                return true;
              }
            );
          });
        });
        return chain;
      })
      .then(loadQueue)
      .then(function () {
        state.syncing = false;
        state.lastSync = new Date();
        renderBar();
        if (changed && state.online && !state.queue.length) {
          afterSyncDone();
        }
      })
      .catch(function () {
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
    var person = state.acting;
    state.acting = null;
    kvDelete("acting").then(function () {
      showWho();
      renderBar();
      var lockButton = document.querySelector("[data-lock-form] [type=submit]");
      var overlay = document.getElementById("tablet-lock");
      if (!lockButton || !overlay) {
        return;
      }
      // Say why on the lock panel, and choose the person (the panel is fetched afresh
      // once locked: say it again then).
      var explain = function () {
        var message = overlay.querySelector("[data-lock-message]");
        if (message) {
          message.textContent =
            "The doses charted offline were sent. " + person.name +
            ": type your PIN to keep charting as yourself.";
          message.className = "lock-message lock-message-warning";
          message.hidden = false;
        }
        var radio = overlay.querySelector("input[name=user][value='" + person.id + "']");
        if (radio && !radio.disabled) {
          radio.checked = true;
        }
      };
      var watch = new MutationObserver(function () {
        watch.disconnect();
        explain();
      });
      watch.observe(overlay, { childList: true });
      lockButton.click();
      explain();
    });
  }

  // --- The bundle and the service worker ------------------------------------------------------

  function loadQueue() {
    return queueAll().then(function (entries) {
      state.queue = entries;
    });
  }

  var lastPrecache = 0;

  function precache(bundle) {
    if (!navigator.serviceWorker) {
      return;
    }
    if (!navigator.serviceWorker.controller) {
      // The first visit: the worker takes this page over once it is active.
      navigator.serviceWorker.addEventListener(
        "controllerchange",
        function () {
          precache(bundle);
        },
        { once: true }
      );
      return;
    }
    var pages = (bundle.pages || []).concat(
      (bundle.residents || [])
        .map(function (resident) {
          return resident.photo_url;
        })
        .filter(Boolean)
    );
    if (Date.now() - lastPrecache < PRECACHE_EVERY_MS) {
      return;
    }
    lastPrecache = Date.now();
    kvSet("precached_at", lastPrecache);
    navigator.serviceWorker.controller.postMessage({ type: "precache", urls: pages });
  }

  function refreshBundle() {
    if (!bundleUrl || !state.online) {
      return Promise.resolve();
    }
    // A background refresh: it must not keep an idle session alive.
    return fetch(bundleUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Background-Request": "1" },
    })
      .then(function (response) {
        if (response.status === 403 || response.status === 404) {
          // Not (or no longer) on duty for this cart: keep nothing of it on the tablet.
          state.bundle = null;
          return kvDelete("bundle").then(function () {
            throw new Error(String(response.status));
          });
        }
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (bundle) {
        state.bundle = bundle;
        return kvSet("bundle", bundle).then(function () {
          precache(bundle);
          markCards();
          renderBar();
        });
      })
      .catch(function () {
        /* offline or signed out: keep the last bundle */
      });
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) {
      return Promise.resolve();
    }
    var url = body.getAttribute("data-service-worker");
    if (!url) {
      return Promise.resolve();
    }
    return navigator.serviceWorker.register(url, { scope: "/" }).then(
      function (registration) {
        return registration;
      },
      function () {
        return null;
      }
    );
  }

  // Signing out: drop the kept pages and the bundle (resident data); the queue stays
  // until it is sent.
  document.addEventListener("submit", function (event) {
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
  document.addEventListener("htmx:sendError", function (event) {
    if (!sessionUser) {
      return;
    }
    state.online = false;
    renderBar();
    var link = event.detail && event.detail.elt;
    if (link && link.matches && link.matches("a[href]")) {
      link.click(); // now intercepted by the offline click handler
    }
  });

  // Back from "offline without the browser knowing": a cheap request says so.
  function probe() {
    if (state.online || !navigator.onLine) {
      return;
    }
    fetch("/healthz", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status < 500) {
          state.online = true;
          renderBar();
          sync();
        }
      })
      .catch(function () {});
  }

  window.addEventListener("online", function () {
    state.online = true;
    renderBar();
    sync();
  });
  window.addEventListener("offline", function () {
    state.online = false;
    renderBar();
  });

  // --- Start ------------------------------------------------------------------------------------

  function start() {
    if (!sessionUser) {
      return registerWorker();
    }
    return Promise.all([kvGet("bundle"), kvGet("results"), kvGet("acting"), kvGet("precached_at"), loadQueue()])
      .then(function (values) {
        state.bundle = values[0] || null;
        state.results = values[1] || [];
        var acting = values[2];
        // Someone switched in offline stays the one charting (a reload keeps it) until the
        // tablet is back online, and only over the same session.
        state.acting = acting && acting.session === sessionUser.id ? acting.person : null;
        lastPrecache = values[3] || 0;
        showWho();
        markCards();
        renderBar();
        return registerWorker();
      })
      .then(function () {
        if (state.online) {
          return refreshBundle().then(sync);
        }
      });
  }

  start();
  window.setInterval(function () {
    if (state.online) {
      refreshBundle();
    }
  }, REFRESH_MS);
  window.setInterval(function () {
    if (state.online && state.queue.length) {
      sync();
    } else {
      probe();
    }
  }, RETRY_MS);
})();
