// Job page: refresh progress, state, loss curve and log from the jobs API while the job runs.
// Progressive enhancement (the page is complete without it); CSP-safe (no inline script).
(function () {
  "use strict";
  var root = document.querySelector("[data-job-api]");
  if (!root || root.hasAttribute("data-job-final")) return;
  var api = root.getAttribute("data-job-api");
  var FINAL = { succeeded: true, failed: true, cancelled: true };
  var lastStep = null;

  function set(selector, text) {
    var el = root.querySelector(selector);
    if (el) el.textContent = text;
  }

  function update(job) {
    set("[data-job-state]", job.state);
    var bar = root.querySelector("[data-job-progress]");
    if (bar) { bar.value = job.progress.fraction; bar.textContent = String(job.progress.fraction); }
    set("[data-job-step]", "step " + job.progress.step);
    set("[data-job-loss]", job.progress.loss === null ? "" : "loss " + job.progress.loss.toFixed(4));
    var error = root.querySelector("[data-job-error]");
    if (error && job.error) { error.textContent = job.error; error.hidden = false; }
    if (job.progress.step !== lastStep || FINAL[job.state]) {
      lastStep = job.progress.step;
      var img = root.querySelector("[data-job-curve]");
      if (img) img.src = "/jobs/" + job.id + "/loss.svg?v=" + job.progress.step + "-" + job.curve.length;
    }
  }

  function poll() {
    Promise.all([
      fetch(api, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) { return r.json(); }),
      fetch(api + "/logs", { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) { return r.json(); })
    ]).then(function (answers) {
      update(answers[0]);
      var log = root.querySelector("[data-job-log]");
      if (log) log.textContent = answers[1].log;
      if (FINAL[answers[0].state]) {
        root.setAttribute("data-job-final", "");
        return;
      }
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
