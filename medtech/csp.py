"""Content Security Policy additions for single views (the policy itself is in settings).

``allow_webassembly``: the pages where the offline PIN switch may run (a cart's and a
resident's med pass, the lock screen). static/js/offline/pin.js checks a PIN there with
Argon2id in WebAssembly (hash-wasm), which needs 'wasm-unsafe-eval': it lets the page's
own scripts compile WebAssembly and still allows no eval of JavaScript. Every other page
keeps script-src 'self' alone.
"""

from csp.decorators import csp_update

allow_webassembly = csp_update({"script-src": ["'wasm-unsafe-eval'"]})
