// Dashboard behaviour that HTMX does not give: confirmations on plain forms, upload
// progress, copy buttons, the handle switcher, focus after swaps, and error toasts that
// carry the request ID so support can find the failed request.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    // HTMX forms confirm through hx-confirm; plain forms through data-confirm.
    if (message && !form.hasAttribute("hx-confirm") && !window.confirm(message)) {
      event.preventDefault();
    }
  }, true);

  // Local time inputs: <input type="datetime-local" data-utc="#hidden"> sends its UTC value
  // in the hidden field (the server stores UTC; without JavaScript it reads the local field as UTC).
  function syncUtc(input) {
    var hidden = document.querySelector(input.getAttribute("data-utc"));
    if (!hidden) return;
    var when = input.value ? new Date(input.value) : null;
    hidden.value = when && !isNaN(when.getTime()) ? when.toISOString() : "";
  }
  document.addEventListener("submit", function (event) {
    var inputs = event.target.querySelectorAll ? event.target.querySelectorAll("input[type=datetime-local][data-utc]") : [];
    Array.prototype.forEach.call(inputs, syncUtc);
  }, true);
  // Live previews (hx-include) read the hidden field before any submit: keep it current.
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (event.target.matches && event.target.matches("input[type=datetime-local][data-utc]")) syncUtc(event.target);
    }, true);
  });

  // Times are rendered in UTC; show them in the reader's time zone, and keep countdowns current.
  var LOCAL_STYLES = {
    long: { weekday: "long", day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    short: { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    date: { day: "numeric", month: "short", year: "numeric" }
  };
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localize(root) {
    // A local time input rendered with its UTC value shows it in the reader's zone.
    Array.prototype.forEach.call(root.querySelectorAll("input[type=datetime-local][data-utc-value]"), function (input) {
      var when = new Date(input.getAttribute("data-utc-value"));
      if (isNaN(when.getTime())) return;
      input.value = when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) + "T" + pad(when.getHours()) + ":" + pad(when.getMinutes());
      input.removeAttribute("data-utc-value");
      if (input.hasAttribute("data-utc")) syncUtc(input);
    });
    // <time data-local="long|short|date">: the server's readable UTC text becomes the
    // reader's local time (the UTC text stays in the title).
    Array.prototype.forEach.call(root.querySelectorAll("time[data-local]:not([data-localized])"), function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var style = LOCAL_STYLES[el.getAttribute("data-local")] || LOCAL_STYLES.long;
      el.title = el.textContent;
      el.textContent = when.toLocaleString(undefined, style);
      el.setAttribute("data-localized", "");
    });
  }
  function countdownText(ms) {
    if (ms <= 0) return "a moment (due now)";
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + " day" + (d === 1 ? "" : "s") + " " + h + " h";
    if (h > 0) return h + " h " + m + " min";
    return m + " min " + (s % 60) + " s";
  }
  function tick() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-countdown]"), function (el) {
      var when = new Date(el.getAttribute("data-countdown"));
      if (!isNaN(when.getTime())) el.textContent = countdownText(when.getTime() - Date.now());
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localize(document); tick(); setInterval(tick, 1000); });
  document.addEventListener("htmx:afterSwap", function (event) { localize(event.target.isConnected ? event.target : document); tick(); });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-navigate]") && el.value) {
      window.location.href = el.value;
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent.trim();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); } catch (e) { /* ignored */ }
      document.body.removeChild(area); done();
    }
    button.setAttribute("data-copied", text);
  });

  // Fields that only apply to some access modes: data-access-only="link public" shows the
  // field while the form's access select has one of those values.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[name=access]") || !select.form) return;
    select.form.querySelectorAll("[data-access-only]").forEach(function (field) {
      field.hidden = field.getAttribute("data-access-only").split(" ").indexOf(select.value) === -1;
    });
  });

  // A link into a closed <details>: open it first, then follow the link (focus its target).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-open-details]");
    if (!link) return;
    var details = document.querySelector(link.getAttribute("data-open-details"));
    if (details) details.open = true;
    var target = document.querySelector(link.getAttribute("href"));
    if (target) { event.preventDefault(); target.focus(); }
  });

  // "Use this" links fill form fields in place: data-fill='{"#field-id": "value"}'. Their
  // href still works without JavaScript (it reloads the page prefilled).
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-fill]");
    if (!link) return;
    var values;
    try { values = JSON.parse(link.getAttribute("data-fill")); } catch (e) { return; }
    var first = null;
    Object.keys(values).forEach(function (selector) {
      var field = document.querySelector(selector);
      if (field) { field.value = values[selector]; first = first || field; }
    });
    if (first) { event.preventDefault(); first.focus(); }
  });

  // Upload progress: any form with a <progress data-upload-progress> child.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    var bar = form && form.querySelector("progress[data-upload-progress]");
    if (!bar || !event.detail.lengthComputable) return;
    var percent = Math.round((event.detail.loaded / event.detail.total) * 100);
    bar.hidden = false;
    bar.value = percent;
    var label = form.querySelector("[data-upload-progress-label]");
    if (label) label.textContent = "Uploading… " + percent + "%";
  });

  function showToast(text, requestId) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("role", "alert");
    toast.appendChild(document.createTextNode(text + " "));
    if (requestId) {
      var code = document.createElement("code");
      code.textContent = requestId;
      toast.appendChild(document.createTextNode("Request ID "));
      toast.appendChild(code);
      toast.appendChild(document.createTextNode(" · "));
      var link = document.createElement("a");
      link.href = "/support/?requestId=" + encodeURIComponent(requestId);
      link.textContent = "Report this";
      toast.appendChild(link);
    }
    box.appendChild(toast);
    setTimeout(function () { if (toast.parentNode) toast.parentNode.removeChild(toast); }, 15000);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var requestId = xhr.getResponseHeader("X-Request-ID");
    var message = "The request failed (" + xhr.status + ").";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (e) { /* not JSON */ }
    showToast(message, requestId);
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("The server could not be reached. Check your connection and try again.", null);
  });

  // Keep the footer's request ID current, and move focus sensibly after a swap.
  document.addEventListener("htmx:afterRequest", function (event) {
    var requestId = event.detail.xhr && event.detail.xhr.getResponseHeader("X-Request-ID");
    var footer = document.getElementById("footer-request-id");
    if (requestId && footer) footer.textContent = requestId;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    // After an outerHTML swap detail.target is the detached old element; the event is
    // dispatched on the new one.
    if (target && !target.isConnected) target = event.target;
    var focusable = target && target.querySelector("[data-autofocus], [aria-invalid='true'], .error-summary");
    if (focusable) {
      if (!focusable.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(focusable.tagName)) {
        focusable.setAttribute("tabindex", "-1");
      }
      focusable.focus();
    }
  });
  // Error responses still carry useful HTML (form errors, "try again later"): let HTMX
  // swap the bodies of the statuses the server lists on <body data-swap-statuses>
  // (gharart.dashboard.SWAPPED_STATUSES, the one list both sides read).
  var swapped = (document.body.getAttribute("data-swap-statuses") || "").split(" ");
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = String(event.detail.xhr.status);
    if (swapped.indexOf(status) !== -1) {
      var type = event.detail.xhr.getResponseHeader("Content-Type") || "";
      if (type.indexOf("text/html") === 0) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    }
  });
})();
