/* The Lock screen's PIN switch without a connection: the PIN is checked on the tablet
 * against the bundle's verifier (Argon2id with hash-wasm, static/vendor/
 * hash-wasm-argon2.umd.min.js, MIT; as staff.services.pin_offline_derive derives it), and
 * the doses of someone switched in this way are signed with a key derived from their PIN
 * (HMAC-SHA256 with WebCrypto). WebAssembly runs only on the pages whose policy allows it
 * (medtech.csp.allow_webassembly). */

import { renderBar } from "./bar.js";
import { el, findById, isOffline, sessionUser, state } from "./state.js";
import { kvDelete, kvSet } from "./store.js";

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function utf8(text) {
  return new TextEncoder().encode(text);
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** T = Argon2id(pin, salt, the verifier's cost, 32 bytes), as the server derives it; the
 * verifier is SHA-256("verify:" + T), the signing key SHA-256("sign:" + T). */
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
    .then((stretched) =>
      Promise.all([
        crypto.subtle.digest("SHA-256", concat(utf8("verify:"), stretched)),
        crypto.subtle.digest("SHA-256", concat(utf8("sign:"), stretched)),
      ])
    )
    .then(([verifier, signing]) =>
      crypto.subtle
        .importKey("raw", signing, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
        .then((key) => ({ verifier: hex(verifier), key }))
    );
}

function sameText(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  }
  return diff === 0;
}

export function sign(key, message) {
  return crypto.subtle.sign("HMAC", key, utf8(message)).then(hex);
}

/** The name in the top bar: who the tablet charts as now. */
export function showWho() {
  const who = document.querySelector(".topbar .who");
  if (!who || !who.firstChild) {
    return;
  }
  who.firstChild.textContent = (state.acting || sessionUser).name + " ";
  who.classList.toggle("who-offline", !!state.acting);
}

function addPeopleToOverlay() {
  const overlay = document.getElementById("tablet-lock");
  const people = overlay && overlay.querySelector(".people");
  if (!people || !state.bundle) {
    return;
  }
  (state.bundle.staff || []).forEach((person) => {
    if (people.querySelector("input[name=user][value='" + person.id + "']")) {
      return;
    }
    const label = el("label", "person");
    const radio = el("input");
    radio.type = "radio";
    radio.name = "user";
    radio.value = person.id;
    label.appendChild(radio);
    label.appendChild(el("span", "person-initials", person.initials));
    const text = el("span", "person-text");
    text.appendChild(el("span", "person-name", person.name));
    label.appendChild(text);
    people.appendChild(label);
  });
}

function unlockOffline(event) {
  const detail = event.detail;
  const chosen = detail.form.querySelector("input[name=user]:checked");
  const pin = detail.form.querySelector("[data-pin-input]").value;
  const person = state.bundle ? findById(state.bundle.staff, chosen && chosen.value) : null;
  if (!person) {
    return; // not someone this tablet can check: tablet.js says "no connection"
  }
  event.preventDefault();
  detail.say("No connection: checking the PIN on this tablet…", "busy");
  derivePin(pin, person.pin)
    .then((derived) => {
      if (!sameText(derived.verifier, person.pin.verifier)) {
        detail.say("Wrong PIN for " + person.name + ". Try again.", "error");
        return undefined;
      }
      const acting =
        person.id === sessionUser.id
          ? null
          : { id: person.id, name: person.name, initials: person.initials, key: derived.key };
      const save = acting
        ? kvSet("acting", { session: sessionUser.id, person: acting })
        : kvDelete("acting");
      return save.then(() => {
        state.acting = acting;
        showWho();
        detail.unlocked();
        renderBar();
      });
    })
    .catch(() => {
      detail.say("The PIN could not be checked on this tablet. Sign in when the Wi-Fi is back.", "error");
    });
}

export function installPinSwitch() {
  document.addEventListener("tablet:locked", () => {
    if (isOffline()) {
      addPeopleToOverlay();
    }
  });
  document.addEventListener("tablet:unlock-offline", unlockOffline);
}
