/* What the offline modules share: who is signed in, the bundle, the queue as last read,
 * and a few small helpers. No side effects on import. */

export const body = document.body;

export const sessionUser = body.getAttribute("data-user-id")
  ? {
      id: body.getAttribute("data-user-id"),
      name: body.getAttribute("data-user-name"),
      initials: body.getAttribute("data-user-initials"),
    }
  : null;

const bundleSource = document.querySelector("[data-offline-bundle]");
export const bundleUrl = bundleSource ? bundleSource.getAttribute("data-offline-bundle") : null;

export const state = {
  online: navigator.onLine,
  bundle: null,
  queue: [],
  results: [],
  acting: null, // someone switched in offline: {id, name, initials, key}
  syncing: false,
  lastSync: null,
  waitingFor: null,
};

export function isOffline() {
  return !state.online;
}

/** Who the next dose is charted as: someone switched in offline, or the session's user. */
export function charter() {
  return state.acting || sessionUser;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
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

/** "14:05" in the facility's zone (with the weekday, "Sat 14:05", when asked). */
export function clock(iso, withDay) {
  if (!iso) {
    return "";
  }
  const options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone() };
  if (withDay) {
    options.weekday = "short";
  }
  try {
    return new Intl.DateTimeFormat("en-GB", options).format(new Date(iso)).replace(",", "");
  } catch (error) {
    return new Date(iso).toTimeString().slice(0, 5);
  }
}

export function findById(list, id) {
  return (list || []).find((item) => item.id === id) || null;
}

export function uuid4() {
  if (crypto.randomUUID) {
    return crypto.randomUUID();
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
}
