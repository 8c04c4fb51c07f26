// ModelHub UI behaviour: progressive enhancement only; every page works without it.
(function () {
  "use strict";

  function formatSize(bytes) {
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
    return (i === 0 ? bytes : bytes.toFixed(1)) + " " + units[i];
  }

  // Copy-to-clipboard buttons: <button data-copy="text">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      var previous = button.getAttribute("aria-label") || "";
      button.setAttribute("aria-label", "Copied");
      button.classList.add("copied");
      setTimeout(function () { button.setAttribute("aria-label", previous); button.classList.remove("copied"); }, 1500);
    });
  });

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
