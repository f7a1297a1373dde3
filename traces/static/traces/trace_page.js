// The admin trace page: copy buttons (hashes, params, output), opening the step named in the URL,
// and the trace's plan/input/metadata loaded when their box is first opened (the page does not carry them).
"use strict";
(function () {
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-http deployments have no Clipboard API: a hidden textarea and execCommand instead.
    return new Promise(function (resolve, reject) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      const copied = document.execCommand("copy");
      document.body.removeChild(area);
      if (copied) {
        resolve();
      } else {
        reject(new Error("copy failed"));
      }
    });
  }

  function flash(button, label) {
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
    }
    button.textContent = label;
    button.classList.add("aos-copied");
    window.setTimeout(function () {
      button.textContent = button.dataset.label;
      button.classList.remove("aos-copied");
    }, 1500);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.aos-copy");
    if (!button) {
      return;
    }
    event.preventDefault();
    let text = button.dataset.copy;
    if (text === undefined && button.dataset.copyFrom) {
      const source = document.getElementById(button.dataset.copyFrom);
      text = source ? source.textContent : "";
    }
    copyText(text || "").then(
      function () { flash(button, "Copied"); },
      function () { flash(button, "Copy failed"); }
    );
  });

  // `#step-N` in the URL opens that step (links from banners, mismatches and the compare view).
  function openNamedStep() {
    const id = window.location.hash.slice(1);
    const step = id ? document.getElementById(id) : null;
    if (step && step.tagName === "DETAILS") {
      step.open = true;
    }
  }

  // `toggle` does not bubble: listen in the capture phase.
  document.addEventListener("toggle", function (event) {
    const box = event.target;
    if (!box.classList || !box.classList.contains("aos-lazy-json") || !box.open || box.dataset.loaded) {
      return;
    }
    box.dataset.loaded = "loading";
    const target = box.querySelector("pre");
    target.textContent = "Loading…";
    fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(
        function (text) {
          target.textContent = text;
          box.dataset.loaded = "yes";
        },
        function (error) {
          target.textContent = "Could not load it (" + error.message + "); try the link.";
          delete box.dataset.loaded;
        }
      );
  }, true);

  window.addEventListener("hashchange", openNamedStep);
  document.addEventListener("DOMContentLoaded", openNamedStep);
})();
