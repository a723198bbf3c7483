/* MedTech eMAR on the med cart's shared tablet: the PIN pad, the Lock button and the
 * automatic lock after inactivity.
 *
 * No inline script anywhere (a Content Security Policy without 'unsafe-inline' is
 * coming): everything is configured by data- attributes that the templates render.
 *
 *   <body data-auto-lock-seconds="300">  signed-in pages: lock after this long with no
 *                                        touch, key or typing (the facility's setting)
 *   #tablet-lock[data-lock-url]          the lock overlay (templates/staff/lock.html);
 *                                        POST there to lock the session
 *   form[data-lock-form]                 the top bar's Lock button
 *   form[data-unlock-form]               a lock panel's form: person, PIN, next
 *   [data-pin-pad]                       a number pad typing into [data-pin-input]
 *
 * Locking puts the overlay OVER the page, so whatever was typed on the page stays.
 * Unlocking as the same person hides it again; unlocking as someone else signs them in
 * and reloads the page, so nothing the last person typed is charted under the new name.
 * The server answers htmx requests of a locked session with 403 and HX-Trigger: locked;
 * that "locked" event shows the overlay too.
 *
 * Events for other scripts, on document: "tablet:locked", "tablet:unlocked",
 * "tablet:switching" (before the reload for another person), and, cancelable,
 * "tablet:unlock-offline" when the unlock request could not reach the server (detail:
 * form, unlocked(), say(text, kind)); offline/pin.js checks the PIN on the tablet then.
 */
(function () {
  "use strict";

  var MAX_PIN = 8;

  // --- The PIN pad (the lock page and the overlay) ---------------------------------

  function pinInput(form) {
    return form.querySelector("[data-pin-input]");
  }

  function typeDigit(form, digit) {
    var input = pinInput(form);
    if (input && input.value.length < MAX_PIN) {
      input.value += digit;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  function enhancePinPads(root) {
    root.querySelectorAll("[data-pin-pad]").forEach(function (pad) {
      pad.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var key = event.target.closest("[data-pin-key], [data-pin-clear], [data-pin-delete]");
    if (!key) {
      return;
    }
    var form = key.closest("form");
    var input = form && pinInput(form);
    if (!input) {
      return;
    }
    if (key.hasAttribute("data-pin-key")) {
      typeDigit(form, key.getAttribute("data-pin-key"));
    } else if (key.hasAttribute("data-pin-clear")) {
      input.value = "";
    } else {
      input.value = input.value.slice(0, -1);
    }
    showMessage(form.closest("[data-lock-panel]"), "", "");
  });

  // A hardware keyboard types digits into the PIN wherever focus is in the panel.
  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest("[data-unlock-form]");
    if (!form || event.target.matches("[data-pin-input]") || event.ctrlKey || event.metaKey) {
      return;
    }
    if (/^[0-9]$/.test(event.key)) {
      event.preventDefault();
      typeDigit(form, event.key);
    } else if (event.key === "Backspace") {
      event.preventDefault();
      var input = pinInput(form);
      input.value = input.value.slice(0, -1);
    }
  });

  function showMessage(panel, text, kind) {
    var message = panel && panel.querySelector("[data-lock-message]");
    if (!message) {
      return;
    }
    message.textContent = text;
    message.className = "lock-message" + (kind ? " lock-message-" + kind : "");
    message.hidden = !text;
  }

  enhancePinPads(document);

  // Print buttons ([data-print]): the page's own print dialog, without an inline handler.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) {
      window.print();
    }
  });

  // --- The overlay over a signed-in page ----------------------------------------------

  var overlay = document.getElementById("tablet-lock");
  var autoLockSeconds = parseInt(document.body.getAttribute("data-auto-lock-seconds"), 10);
  if (!overlay) {
    return; // not signed in, or this is the lock page itself
  }

  var lockUrl = overlay.getAttribute("data-lock-url");
  var locked = false;
  var focusBefore = null;
  var inerted = [];

  function currentPath() {
    return window.location.pathname + window.location.search;
  }

  function csrfToken() {
    var field = overlay.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function focusables() {
    return Array.prototype.filter.call(
      overlay.querySelectorAll("button, input:not([type=hidden]), a[href]"),
      function (el) {
        return !el.disabled && !el.hidden && el.getClientRects().length > 0;
      }
    );
  }

  function focusFirst() {
    // The chosen person (Tab goes on to the PIN), else the first control.
    var target = overlay.querySelector("input[name=user]:checked") || focusables()[0];
    if (target) {
      target.focus({ preventScroll: true });
    }
  }

  function showOverlay() {
    focusBefore = document.activeElement;
    // Everything but the overlay becomes inert: no focus, no taps, hidden from readers.
    inerted = Array.prototype.filter.call(document.body.children, function (el) {
      return el !== overlay && el.tagName !== "SCRIPT" && !el.inert;
    });
    inerted.forEach(function (el) {
      el.inert = true;
    });
    overlay.querySelectorAll("[data-lock-next]").forEach(function (field) {
      field.value = currentPath();
    });
    document.documentElement.classList.add("is-locked");
    overlay.hidden = false;
    focusFirst();
  }

  function hideOverlay() {
    overlay.hidden = true;
    document.documentElement.classList.remove("is-locked");
    inerted.forEach(function (el) {
      el.inert = false;
    });
    inerted = [];
    var form = overlay.querySelector("[data-unlock-form]");
    if (form) {
      pinInput(form).value = "";
    }
    showMessage(overlay.querySelector("[data-lock-panel]"), "", "");
    if (focusBefore && document.contains(focusBefore)) {
      focusBefore.focus({ preventScroll: true });
    }
  }

  // The fresh panel lists everyone remembered on this tablet; keep what was already chosen.
  function replacePanel(html) {
    var form = overlay.querySelector("[data-unlock-form]");
    var chosen = form && form.querySelector("input[name=user]:checked");
    var pin = form ? pinInput(form).value : "";
    var hadFocus = overlay.contains(document.activeElement);
    overlay.innerHTML = html;
    enhancePinPads(overlay);
    var newForm = overlay.querySelector("[data-unlock-form]");
    if (!newForm) {
      return;
    }
    if (chosen) {
      var same = newForm.querySelector("input[name=user][value='" + chosen.value + "']");
      if (same && !same.disabled) {
        same.checked = true;
      }
    }
    pinInput(newForm).value = pin;
    newForm.querySelector("[data-lock-next]").value = currentPath();
    if (hadFocus || !overlay.contains(document.activeElement)) {
      focusFirst();
    }
  }

  function lock() {
    if (locked) {
      return;
    }
    locked = true;
    showOverlay();
    document.dispatchEvent(new CustomEvent("tablet:locked"));
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrfToken());
    body.append("next", currentPath());
    fetch(lockUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      // Sent by the page (often the automatic lock): not the person's activity.
      headers: { Accept: "application/json", "X-Background-Request": "1" },
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data && data.panel_html && locked) {
          replacePanel(data.panel_html);
        }
      })
      .catch(function () {
        // Offline: the overlay already covers the page; unlocking needs the network.
      });
  }

  function unlocked() {
    locked = false;
    hideOverlay();
    if (autoLockSeconds > 0) {
      lastActivity = Date.now();
      armTimer(autoLockSeconds * 1000);
    }
    document.dispatchEvent(new CustomEvent("tablet:unlocked"));
  }

  function switchTo(url) {
    document.dispatchEvent(new CustomEvent("tablet:switching"));
    // What the last person typed must not be sent as the next person's.
    document.querySelectorAll("form").forEach(function (form) {
      form.reset();
    });
    window.location.replace(url);
  }

  overlay.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-unlock-form]");
    if (!form) {
      return;
    }
    event.preventDefault();
    var panel = form.closest("[data-lock-panel]");
    if (!form.querySelector("input[name=user]:checked")) {
      showMessage(panel, "Tap your name first, then your PIN.", "error");
      return;
    }
    if (!pinInput(form).value) {
      showMessage(panel, "Type your PIN, then Unlock.", "error");
      return;
    }
    var submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    showMessage(panel, "Checking PIN…", "busy");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { ok: response.ok, data: data };
          });
      })
      .then(function (answer) {
        submit.disabled = false;
        if (answer.ok && answer.data.result === "unlocked") {
          unlocked();
        } else if (answer.ok && answer.data.result === "switched") {
          showMessage(panel, "Signing you in…", "busy");
          switchTo(answer.data.redirect || currentPath());
        } else {
          pinInput(form).value = "";
          showMessage(panel, answer.data.message || "That did not work. Try again.", "error");
        }
      })
      .catch(function () {
        submit.disabled = false;
        // No connection: static/js/offline/pin.js may check the PIN on the tablet instead.
        var offline = new CustomEvent("tablet:unlock-offline", {
          cancelable: true,
          detail: {
            form: form,
            unlocked: unlocked,
            say: function (text, kind) {
              if (kind === "error") {
                pinInput(form).value = "";
              }
              showMessage(panel, text, kind);
            },
          },
        });
        if (!document.dispatchEvent(offline)) {
          return;
        }
        showMessage(
          panel,
          "No connection. Nothing is lost: try again when the Wi-Fi is back.",
          "warning"
        );
      });
  });

  // Keep Tab and Shift+Tab inside the overlay (the rest of the page is inert as well).
  overlay.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") {
      return;
    }
    var items = focusables();
    if (!items.length) {
      return;
    }
    var first = items[0];
    var last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });

  document.querySelectorAll("[data-lock-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      lock();
    });
  });

  // The server says this session is locked (another tab, or the lock came first there).
  document.body.addEventListener("locked", lock);

  // --- Automatic lock after inactivity -------------------------------------------------

  if (!(autoLockSeconds > 0)) {
    return;
  }
  var lastActivity = Date.now();
  var timer = null;

  function armTimer(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(checkIdle, Math.max(ms, 250));
  }

  // One timeout, re-armed only when it fires: activity merely notes the time.
  function checkIdle() {
    if (locked) {
      return;
    }
    var left = autoLockSeconds * 1000 - (Date.now() - lastActivity);
    if (left <= 0) {
      lock();
    } else {
      armTimer(left);
    }
  }

  ["pointerdown", "keydown", "input"].forEach(function (type) {
    document.addEventListener(
      type,
      function () {
        if (!locked) {
          lastActivity = Date.now();
        }
      },
      { capture: true, passive: true }
    );
  });
  // A tablet that slept may have missed its timer.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      checkIdle();
    }
  });
  window.addEventListener("pageshow", checkIdle);

  armTimer(autoLockSeconds * 1000);
})();

/* The confirm in reach: a chart panel (or the Give all due screen) that opens low on the
 * page scrolls up just enough to show it whole, or its top when it is taller than the
 * screen; its action bar is sticky, so Confirm is then on the screen either way. Online
 * the panels come by htmx; offline static/js/offline/panels.js clones them and says so
 * with "tablet:panel-shown" (detail: form). */
(function () {
  "use strict";

  function confirmInReach(panel) {
    if (!panel) {
      return;
    }
    var box = panel.getBoundingClientRect();
    var below = box.bottom - window.innerHeight + 8;
    var scroll = Math.min(below, box.top - 8);
    if (scroll > 0) {
      window.scrollBy({ top: scroll, behavior: "instant" });
    }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.querySelector && target.querySelector(".action-bar")) {
      confirmInReach(target); // the whole panel: a refusal's alert and buttons come first
    }
  });
  document.addEventListener("tablet:panel-shown", function (event) {
    var form = event.detail && event.detail.form;
    confirmInReach(form && form.parentElement);
  });
})();
