// The upload drop zone: files dropped or chosen are sent one request each, so every file gets
// its own status at once and a refused file does not hold up the others. Without JavaScript
// the form posts all files together and the page shows the same status list.
(function () {
  "use strict";
  const form = document.querySelector("form.upload-form");
  if (!form) return;
  const zone = form.querySelector("[data-dropzone]");
  const input = form.querySelector('input[type="file"]');
  const notes = document.getElementById("upload-notes");
  const limit = Number(form.dataset.maxBytes);
  const limitMb = form.dataset.maxMb;
  const csrf = form.querySelector('input[name="csrf_token"]').value;

  form.classList.add("scripted");
  input.required = false;

  function note(text) {
    const item = document.createElement("li");
    item.textContent = text;  // file names are never parsed as HTML
    notes.prepend(item);
  }

  function showStatus(html) {
    const current = document.getElementById("upload-status");
    const holder = document.createElement("div");
    holder.innerHTML = html;  // our own server-rendered fragment
    const fresh = holder.firstElementChild;
    current.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
  }

  async function reason(response) {
    try {
      const body = await response.json();
      return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch (error) {
      return response.status + " " + response.statusText;
    }
  }

  async function sendOne(file) {
    if (file.size > limit) {
      note(file.name + ": not sent, larger than the " + limitMb + " MB limit per file");
      return;
    }
    const body = new FormData();
    for (const [key, value] of new FormData(form)) {
      if (key !== "files") body.append(key, value);
    }
    body.append("files", file, file.name);
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: body,
        headers: { "HX-Request": "true", "X-CSRF-Token": csrf },
        credentials: "same-origin",
      });
      if (response.ok) showStatus(await response.text());
      else note(file.name + ": " + (await reason(response)));
    } catch (error) {
      note(file.name + ": the upload did not reach the server (" + error + ")");
    }
  }

  async function send(files) {
    for (const file of Array.from(files)) await sendOne(file);
  }

  zone.addEventListener("dragover", function (event) {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", function () {
    zone.classList.remove("over");
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("over");
    send(event.dataTransfer.files);
  });
  input.addEventListener("change", function () {
    const chosen = Array.from(input.files);
    input.value = "";
    send(chosen);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const chosen = Array.from(input.files);
    input.value = "";
    send(chosen);
  });
})();
