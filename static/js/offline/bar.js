/* The bar at the top of the page: online or offline, how many doses wait on the tablet,
 * and what the server answered for the doses sent when the connection returned. */

import { bundleUrl, clock, el, sessionUser, state } from "./state.js";
import { kvSet } from "./store.js";

let bar = null;
let resultsBox = null;

function ensureBar() {
  if (bar || !sessionUser) {
    return;
  }
  const main = document.querySelector("main.page");
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

function stateText(waiting) {
  if (!state.online) {
    return "Offline - " + waiting + " waiting";
  }
  if (state.syncing) {
    return "Sending " + waiting + " waiting…";
  }
  return waiting ? "Online - " + waiting + " waiting to send" : "Online";
}

export function renderBar() {
  if (!sessionUser) {
    return;
  }
  const waiting = state.queue.length;
  if (!(bundleUrl || waiting || state.results.length || !state.online)) {
    return;
  }
  ensureBar();
  if (!bar) {
    return;
  }
  bar.textContent = "";
  bar.className = "offline-bar " + (state.online ? "offline-bar-online" : "offline-bar-offline");
  bar.appendChild(el("p", "offline-state", stateText(waiting)));
  const text = el("div", "offline-text");
  if (!state.online) {
    text.appendChild(
      el("p", null, "Keep charting: doses are kept on this tablet and sent when the Wi-Fi is back.")
    );
    const since = state.bundle ? clock(state.bundle.generated_at) : "";
    text.appendChild(
      el(
        "p",
        "offline-caution",
        "Doses charted by others since the last sync" + (since ? " (" + since + ")" : "") +
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
      el("p", "offline-acting", "Charting as " + state.acting.name + " (PIN checked on this tablet).")
    );
  }
  bar.appendChild(text);
  renderResults();
}

function resultItem(result) {
  const item = el("li", "offline-result offline-result-" + result.kind);
  const what = result.medication + (result.resident ? " · " + result.resident : "");
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
    return item;
  }
  const conflict = result.kind === "conflict";
  item.appendChild(el("strong", null, conflict ? "Conflict, not recorded: " : "Not recorded: "));
  item.appendChild(
    document.createTextNode(
      what + " (" + result.status_label + " by " + result.by + " at " +
        clock(result.administered_at) + "). " + result.detail + " "
    )
  );
  item.appendChild(
    el(
      "span",
      "offline-result-note",
      conflict
        ? "Nothing was overwritten. The nurse has been notified."
        : "It is not on the record: chart it again, or tell the nurse."
    )
  );
  return item;
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
  const recorded = state.results.filter((r) => r.kind === "recorded");
  const conflicts = state.results.filter((r) => r.kind !== "recorded");
  const head = el("div", "offline-results-head");
  head.appendChild(
    el(
      "h2",
      null,
      "Sent after the connection returned: " + recorded.length + " recorded" +
        (conflicts.length
          ? ", " + conflicts.length + " conflict" + (conflicts.length === 1 ? "" : "s")
          : "")
    )
  );
  const dismiss = el("button", "button", "Dismiss");
  dismiss.type = "button";
  dismiss.setAttribute("data-offline-dismiss", "");
  head.appendChild(dismiss);
  resultsBox.appendChild(head);
  const list = el("ul", "offline-result-list");
  // Conflicts first: they are what someone has to act on.
  conflicts.concat(recorded).forEach((result) => list.appendChild(resultItem(result)));
  resultsBox.appendChild(list);
}

export function installBar() {
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-offline-dismiss]")) {
      state.results = [];
      kvSet("results", []).then(renderBar);
    }
  });
}
