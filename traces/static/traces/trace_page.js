// The admin trace page: copy buttons (hashes, params, output) and opening the step named in the URL.
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

  window.addEventListener("hashchange", openNamedStep);
  document.addEventListener("DOMContentLoaded", openNamedStep);
})();
