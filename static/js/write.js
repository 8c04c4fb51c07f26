// Write pages. Uploads with progress: the upload form is sent with XMLHttpRequest (the browser
// API that reports upload progress) instead of a page load. Each chosen file gets a row with its own
// progress bar and status (waiting, sending, stored, committed, or the server's error for that
// file); the server answers JSON (repos/views/write.py) and the page then goes where a plain
// submit would have gone. Without this script the form still works as a normal POST.
// Also: the pull-request choice of every write page renames the submit button.
(function () {
  "use strict";

  function formatSize(bytes) {
    // Decimal units, as the Hub shows sizes.
    var units = ["B", "kB", "MB", "GB", "TB"];
    var i = 0;
    while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i++; }
    return (i === 0 ? bytes : bytes.toFixed(1)) + " " + units[i];
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The pull-request checkbox of a write page: the button says what will happen.
  document.querySelectorAll("[data-commit-choice] input[type=checkbox]").forEach(function (box) {
    var button = box.form && box.form.querySelector("[data-commit-submit]");
    if (!button) return;
    function label() {
      button.textContent = button.getAttribute(box.checked ? "data-pr-label" : "data-commit-label");
    }
    box.addEventListener("change", label);
    label();
  });

  var form = document.querySelector("form[data-upload-form]");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var input = form.querySelector("input[type=file]");
  var list = form.querySelector("[data-file-list]");
  var progress = form.querySelector("[data-upload-progress]");
  var totalBar = form.querySelector("[data-total-progress]");
  var totalStatus = form.querySelector("[data-total-status]");
  var errorBox = form.querySelector("[data-upload-error]");
  var button = form.querySelector("[data-commit-submit]");
  var choice = form.querySelector("[data-commit-choice] input[type=checkbox]");
  if (!input || !list || !button) return;
  var rows = [];
  var busy = false;

  function setStatus(row, state, text) {
    row.status.setAttribute("data-file-status", state);
    row.status.textContent = text;
    row.item.className = "upload-row upload-" + state;
  }

  function setProgress(row, percent) {
    row.bar.value = percent;
    row.bar.textContent = percent + "%";
  }

  // One row per chosen file (replacing the plain list the drop zone shows).
  function render() {
    if (busy) return;
    list.textContent = "";
    rows = [];
    Array.prototype.forEach.call(input.files, function (file, index) {
      var item = element("li", "upload-row");
      item.setAttribute("data-file", file.name);
      var name = element("span", "upload-name", file.name);
      var size = element("span", "faint upload-size", formatSize(file.size));
      var bar = element("progress", "upload-bar");
      bar.max = 100;
      bar.setAttribute("data-file-progress", "");
      bar.setAttribute("aria-label", "Upload of " + file.name);
      var status = element("span", "upload-status");
      var row = {file: file, index: index, item: item, bar: bar, status: status};
      setProgress(row, 0);
      setStatus(row, "ready", "Ready");
      item.appendChild(name);
      item.appendChild(size);
      item.appendChild(bar);
      item.appendChild(status);
      list.appendChild(item);
      rows.push(row);
    });
    if (errorBox) errorBox.hidden = true;
  }
  input.addEventListener("change", render);
  render();

  function restoreButton() {
    button.disabled = false;
    // Without the checkbox, a pull request is the only way.
    var pr = choice ? choice.checked : true;
    button.textContent = button.getAttribute(pr ? "data-pr-label" : "data-commit-label");
  }

  function showError(message) {
    if (errorBox) {
      errorBox.textContent = message;
      errorBox.hidden = false;
    }
    if (totalStatus) totalStatus.textContent = "Nothing was committed.";
  }

  // The body is the form's fields with the files in order: the bytes sent so far, scaled to
  // the files' share of the body, tell how far each file got.
  function onProgress(event) {
    if (!event.lengthComputable || !event.total) return;
    var sizes = rows.reduce(function (sum, row) { return sum + row.file.size; }, 0);
    var sent = event.loaded * sizes / event.total;
    var offset = 0;
    rows.forEach(function (row) {
      var size = row.file.size;
      var done = size ? Math.min(1, Math.max(0, (sent - offset) / size)) : (sent >= offset ? 1 : 0);
      var percent = Math.floor(done * 100);
      setProgress(row, percent);
      if (done >= 1) setStatus(row, "sent", "Sent");
      else if (done > 0) setStatus(row, "sending", "Sending " + percent + "%");
      else setStatus(row, "waiting", "Waiting");
      offset += size;
    });
    if (totalBar) {
      totalBar.value = Math.floor(100 * event.loaded / event.total);
      totalBar.textContent = totalBar.value + "%";
    }
    if (totalStatus) totalStatus.textContent = formatSize(event.loaded) + " of " + formatSize(event.total);
  }

  function onSent() {
    rows.forEach(function (row) {
      setProgress(row, 100);
      setStatus(row, "storing", "Storing…");
    });
    if (totalBar) { totalBar.value = 100; totalBar.textContent = "100%"; }
    if (totalStatus) totalStatus.textContent = "Storing the files and committing…";
  }

  function onDone(xhr) {
    busy = false;
    var data = null;
    if ((xhr.getResponseHeader("Content-Type") || "").indexOf("application/json") === 0) {
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
    }
    if (data && data.ok) {
      var proposed = data.pullRequest !== null && data.pullRequest !== undefined;
      (data.files || []).forEach(function (outcome) {
        var row = rows[outcome.index];
        if (!row) return;
        setStatus(row, "committed", (proposed ? "In pull request #" + data.pullRequest : "Committed")
          + (outcome.lfs ? " (Git LFS)" : ""));
      });
      if (totalStatus) totalStatus.textContent = proposed ? "Pull request #" + data.pullRequest + " opened." : "Committed.";
      window.location.assign(data.redirect);
      return;
    }
    var failed = {};
    ((data && data.files) || []).forEach(function (problem) {
      var row = rows[problem.index];
      if (!row) return;
      failed[problem.index] = true;
      setStatus(row, "error", problem.error);
    });
    rows.forEach(function (row) {
      if (!failed[row.index]) setStatus(row, "not-committed", "Not committed");
    });
    showError(data && data.error ? data.error
      : "The upload failed (HTTP " + xhr.status + "). Nothing was committed; try again.");
    restoreButton();
  }

  function onFailed(message) {
    busy = false;
    rows.forEach(function (row) { setStatus(row, "error", message); });
    showError(message + " Nothing was committed; try again.");
    restoreButton();
  }

  form.addEventListener("submit", function (event) {
    if (!input.files.length || busy) return;  // no file: the server answers "choose at least one file"
    event.preventDefault();
    if (rows.length !== input.files.length) render();
    busy = true;
    if (errorBox) errorBox.hidden = true;
    if (progress) progress.hidden = false;
    var body = new FormData(form);
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    if (token) xhr.setRequestHeader("X-CSRFToken", token.value);
    xhr.upload.addEventListener("progress", onProgress);
    xhr.upload.addEventListener("load", onSent);
    xhr.addEventListener("load", function () { onDone(xhr); });
    xhr.addEventListener("error", function () { onFailed("The connection to the hub was lost."); });
    xhr.addEventListener("abort", function () { onFailed("The upload was cancelled."); });
    rows.forEach(function (row) { setStatus(row, "waiting", "Waiting"); });
    xhr.send(body);
  });
})();
