// ModelHub UI behaviour: progressive enhancement only; every page works without it.
(function () {
  "use strict";

  // Decimal units like the server's hub/units.py (1 kB = 1000 bytes), as the Hub shows them.
  function formatSize(bytes) {
    if (bytes < 1000) return bytes + (bytes === 1 ? " byte" : " bytes");
    var units = ["kB", "MB", "GB", "TB", "PB"];
    var i = -1;
    do { bytes /= 1000; i++; } while (Math.round(bytes * 10) / 10 >= 1000 && i < units.length - 1);
    return bytes.toFixed(1) + "\u00a0" + units[i];
  }

  // Copy-to-clipboard buttons: <button data-copy="text">. The Clipboard API exists only in
  // secure contexts (https, localhost); a hub served over plain http on a LAN falls back to
  // copying from a hidden textarea.
  function copyWithTextarea(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var copied = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text).catch(function () { return copyWithTextarea(text); })
      : copyWithTextarea(text);
    copied.then(function () {
      var previous = button.getAttribute("aria-label") || "";
      var label = button.querySelector("span");
      var previousText = label ? label.textContent : "";
      button.setAttribute("aria-label", "Copied");
      button.classList.add("copied");
      if (label) label.textContent = "Copied";
      setTimeout(function () {
        button.setAttribute("aria-label", previous);
        button.classList.remove("copied");
        if (label) label.textContent = previousText;
      }, 1500);
    }, function () {});
  });

  // Panels open on wide screens (the search filters) start closed on narrow ones, so the
  // results come first; the summary still opens them. Without JS they simply stay open.
  if (window.matchMedia && window.matchMedia("(max-width: 900px)").matches) {
    document.querySelectorAll("details[data-collapse-narrow]").forEach(function (panel) {
      panel.removeAttribute("open");
    });
  }

  // <details> menus: close on outside click and on Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // Upload drop zone: the file input covers the zone, so a drop lands on it natively;
  // this only adds the hover style and lists the chosen files.
  function initDropzone(zone) {
    var input = zone.querySelector("input[type=file]");
    var list = zone.parentElement.querySelector("[data-file-list]");
    if (!input || !list) return;
    function render() {
      list.textContent = "";
      Array.prototype.forEach.call(input.files, function (file) {
        var item = document.createElement("li");
        var name = document.createElement("span");
        name.textContent = file.name;
        var size = document.createElement("span");
        size.className = "faint";
        size.textContent = formatSize(file.size);
        item.appendChild(name);
        item.appendChild(size);
        list.appendChild(item);
      });
    }
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragover"); });
    });
    input.addEventListener("change", render);
    render();
  }
  document.querySelectorAll("[data-dropzone]").forEach(initDropzone);

  // Gated repositories: ask for access through the API, then show the new state.
  document.querySelectorAll("form[data-ask-access]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = form.querySelector("[data-ask-access-status]");
      var token = form.querySelector("input[name=csrfmiddlewaretoken]");
      fetch(form.action, {
        method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
        headers: token ? {"X-CSRFToken": token.value} : {}
      }).then(function (response) {
        if (response.ok) { window.location.reload(); return; }
        if (status) status.textContent = "The request failed (" + response.status + ").";
      });
    });
  });

  // Dataset viewer being prepared by the worker: check every 2 s (for at most 10 minutes)
  // and reload once the page no longer says so.
  var pending = document.querySelector("[data-preview-pending]");
  if (pending && window.fetch) {
    var started = Date.now();
    var check = function () {
      if (Date.now() - started > 600000) return;
      fetch(window.location.href, {credentials: "same-origin"}).then(function (response) {
        return response.ok ? response.text() : "data-preview-pending";
      }).then(function (text) {
        if (text.indexOf("data-preview-pending") === -1) window.location.reload();
        else setTimeout(check, 2000);
      }, function () { setTimeout(check, 2000); });
    };
    setTimeout(check, 2000);
  }

  // Long uploads: show that something is happening and prevent a double submit.
  document.querySelectorAll("form[data-upload-form]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("[data-busy-label]");
      if (!button) return;
      button.textContent = button.getAttribute("data-busy-label");
      setTimeout(function () { button.disabled = true; }, 0);
    });
  });
})();

// Reviews: clicking a line number of a pull request's diff opens that file's comment form
// on the line; a tensor's "Comment" button fills the tensor comment form of its checkpoint.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var line = event.target.closest("[data-line-comment]");
    if (line) {
      var file = line.closest("[data-diff-path]");
      var form = file && file.querySelector("[data-line-form]");
      if (!form) return;
      form.open = true;
      form.querySelector("[data-line-input]").value = line.getAttribute("data-line-comment");
      form.querySelector("[data-side-input]").value = line.getAttribute("data-line-side") || "new";
      form.querySelector("textarea").focus();
      return;
    }
    var tensor = event.target.closest("[data-tensor-comment]");
    if (tensor) {
      var section = tensor.closest("[data-tensor-diff]");
      var tform = section && section.querySelector("[data-tensor-form]");
      if (!tform) return;
      tform.querySelector("[data-tensor-input]").value = tensor.getAttribute("data-tensor-comment");
      tform.querySelector("[data-tensor-text]").focus();
    }
  });

  // Tensor diffs the worker is computing: poll the API, move the progress bar, and reload the
  // page once the numbers are in (the server renders the complete table).
  document.querySelectorAll("[data-tensor-diff][data-poll]").forEach(function (section) {
    var url = section.getAttribute("data-poll");
    var bar = section.querySelector("[data-progress]");
    var delay = 1000;
    function poll() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (data) {
        var item = data && data.checkpoints && data.checkpoints[0];
        if (!item) { setTimeout(poll, delay *= 2); return; }
        if (item.complete || item.state === "invalid" || item.state === "failed") { window.location.reload(); return; }
        if (bar && item.progress.total) bar.value = Math.floor(100 * item.progress.done / item.progress.total);
        setTimeout(poll, Math.min(delay *= 1.5, 10000));
      }).catch(function () { setTimeout(poll, Math.min(delay *= 2, 30000)); });
    }
    setTimeout(poll, delay);
  });
})();
