// pi-crm front-end behaviour. Served as /assets/app.js with `defer`; CSP-safe:
// no inline script or style, no eval, no innerHTML. No dependencies.
(function () {
  'use strict';

  var TOAST_MS = 6000;

  function isEditable(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
  }

  // (a) `/` or Ctrl-K / Cmd-K focuses the global search box.
  document.addEventListener('keydown', function (e) {
    if (e.defaultPrevented || e.isComposing || e.altKey) return;
    if (isEditable(e.target) || isEditable(document.activeElement)) return;
    var slash = e.key === '/' && !e.ctrlKey && !e.metaKey;
    var k = (e.key === 'k' || e.key === 'K') && (e.ctrlKey || e.metaKey);
    if (!slash && !k) return;
    var search = document.getElementById('global-search');
    if (!search) return;
    e.preventDefault();
    search.focus();
    if (typeof search.select === 'function') search.select();
  });

  // (b) Toasts: dismissed after 6 s (later while hovered or focused), or by a
  // click on a [data-dismiss] button inside them.
  var scheduled = new WeakSet();

  function scheduleDismiss(toast) {
    if (scheduled.has(toast)) return;
    scheduled.add(toast);
    var tick = function () {
      if (!toast.isConnected) return;
      if (toast.matches(':hover') || toast.contains(document.activeElement)) {
        setTimeout(tick, 1000);
      } else {
        toast.remove();
      }
    };
    setTimeout(tick, TOAST_MS);
  }

  function scanToasts(root) {
    if (root.nodeType !== 1) return;
    if (root.classList.contains('toast')) scheduleDismiss(root);
    var found = root.getElementsByClassName('toast');
    for (var i = 0; i < found.length; i++) scheduleDismiss(found[i]);
  }

  scanToasts(document.documentElement);
  new MutationObserver(function (records) {
    for (var i = 0; i < records.length; i++) {
      var added = records[i].addedNodes;
      for (var j = 0; j < added.length; j++) scanToasts(added[j]);
    }
  }).observe(document.documentElement, { childList: true, subtree: true });

  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('[data-dismiss]');
    if (!button) return;
    var toast = button.closest('.toast');
    if (toast) {
      e.preventDefault();
      toast.remove();
    }
  });

  // (d) Toast for failed htmx requests. Built with DOM APIs only.
  function showToast(message) {
    var stack = document.getElementById('toasts');
    if (!stack) {
      stack = document.createElement('div');
      stack.id = 'toasts';
      stack.className = 'toast-stack';
      stack.setAttribute('aria-live', 'polite');
      document.body.appendChild(stack);
    }
    var toast = document.createElement('div');
    toast.className = 'toast toast-error';
    toast.setAttribute('role', 'alert');
    var text = document.createElement('span');
    text.textContent = message;
    var close = document.createElement('button');
    close.type = 'button';
    close.setAttribute('data-dismiss', '');
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '\u00d7';
    toast.appendChild(text);
    toast.appendChild(close);
    stack.appendChild(toast);
  }

  document.addEventListener('htmx:responseError', function () {
    showToast('Something went wrong. Try again.');
  });
  document.addEventListener('htmx:sendError', function () {
    showToast('Could not reach the server. Check your connection and try again.');
  });

  // (c) data-confirm on forms (submit) and on buttons or links (click).
  // Capture phase, so that a declined confirmation stops the event before
  // htmx's own listeners on the element.
  function declined(el) {
    var message = el.getAttribute('data-confirm');
    return message !== null && !window.confirm(message);
  }

  document.addEventListener('click', function (e) {
    var el = e.target.closest && e.target.closest('[data-confirm]:not(form)');
    if (el && !el.disabled && declined(el)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute('data-confirm')) return;
    // The submitting button already asked.
    if (e.submitter && e.submitter.hasAttribute('data-confirm')) return;
    if (declined(form)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // (e) Copy to clipboard: <button data-copy-target="#id">.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP fallback (e.g. the Pi on a LAN address). CSSOM, not a style attribute.
    return new Promise(function (resolve, reject) {
      var area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.top = '-1000px';
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
      area.remove();
      if (ok) { resolve(); } else { reject(new Error('copy failed')); }
    });
  }

  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('[data-copy-target]');
    if (!button) return;
    var target = null;
    try { target = document.querySelector(button.getAttribute('data-copy-target')); } catch (_) { target = null; }
    if (!target) return;
    e.preventDefault();
    if (!button.hasAttribute('data-copy-label')) {
      button.setAttribute('data-copy-label', button.textContent);
    }
    var label = button.getAttribute('data-copy-label');
    copyText(target.textContent).then(function () {
      button.textContent = 'Copied';
    }, function () {
      button.textContent = 'Copy failed';
    }).then(function () {
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });

  // (e) Parts of a form shown only while a select has a certain choice, e.g. the type of a
  // new custom field in the import mapping: data-show-when-select="ID of the select" and
  // data-show-when-prefix="the start of the value". Without script they simply stay shown.
  function syncShownWhen() {
    var parts = document.querySelectorAll('[data-show-when-select]');
    for (var i = 0; i < parts.length; i++) {
      var select = document.getElementById(parts[i].getAttribute('data-show-when-select'));
      if (!select) continue;
      var prefix = parts[i].getAttribute('data-show-when-prefix') || '';
      parts[i].hidden = select.value.indexOf(prefix) !== 0;
    }
  }
  document.addEventListener('change', function (e) {
    if (e.target && e.target.tagName === 'SELECT') syncShownWhen();
  });
  document.addEventListener('DOMContentLoaded', syncShownWhen);
  document.addEventListener('htmx:afterSettle', syncShownWhen);

  // (f) Choosing an option opens its section and closes the others: a radio with
  // data-opens="group" opens the <details data-section="group" data-kind="its value">.
  // Without script every section can still be opened by hand.
  document.addEventListener('change', function (e) {
    var radio = e.target;
    if (!radio || radio.type !== 'radio' || !radio.hasAttribute('data-opens')) return;
    var group = radio.getAttribute('data-opens');
    var sections = document.querySelectorAll('details[data-section="' + group + '"]');
    for (var i = 0; i < sections.length; i++) {
      sections[i].open = sections[i].getAttribute('data-kind') === radio.value;
    }
  });
})();
