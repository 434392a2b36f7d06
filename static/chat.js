// The chat page's small helpers: stop a streaming answer, copy an answer, open a cited source.
// Asking works without this file (plain form posts); it only adds what needs a script.
(function () {
  "use strict";

  // The SSE extension opens one EventSource per streaming answer; keep it to close it on Stop.
  document.addEventListener("htmx:sseOpen", function (event) {
    event.target.docentSource = event.detail.source;
  });

  // A lost or refused stream cannot resume (a question's key works once): end it, say so.
  document.addEventListener("htmx:sseError", function (event) {
    var article = event.target.closest("article.streaming");
    if (article) {
      article.docentSource = article.docentSource || event.detail.source;
      stop(article, "The connection to docent was lost before the answer was finished; ask again.");
    }
  });

  // A question refused for now (429: the user's other answers are still on their way) comes
  // back as a fragment saying why: show it like any answer (htmx swaps only 2xx by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 429) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function stop(article, note) {
    article.removeAttribute("sse-connect"); // no reconnecting after this
    if (article.docentSource) {
      article.docentSource.close(); // the server sees the stream closed and stops generating
    }
    article.classList.remove("streaming");
    article.classList.add("stopped");
    var status = article.querySelector(".status");
    if (status) {
      status.textContent = note;
    }
    var button = article.querySelector("[data-stop]");
    if (button) {
      button.remove();
    }
  }

  function copy(button) {
    var text = button.closest("article").querySelector(".answer-text").innerText.trim();
    navigator.clipboard.writeText(text).then(
      function () { flash(button, "Copied"); },
      function () { flash(button, "Copy failed"); }
    );
  }

  function flash(button, label) {
    var before = button.textContent;
    button.textContent = label;
    window.setTimeout(function () { button.textContent = before; }, 1500);
  }

  function openSource(link) {
    var target = document.getElementById(link.getAttribute("href").slice(1));
    var details = target && target.querySelector("details");
    if (details) {
      details.open = true;
      // A long passage would hide its highlighted span below the fold (phones): show the span.
      var mark = details.querySelector("mark");
      if (mark) {
        window.setTimeout(function () { mark.scrollIntoView({ block: "center" }); }, 0);
      }
    }
  }

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-stop], [data-copy], a.cite");
    if (!el) {
      return;
    }
    if (el.matches("[data-stop]")) {
      stop(el.closest("article"), "Stopped. This answer was not saved.");
    } else if (el.matches("[data-copy]")) {
      copy(el);
    } else {
      openSource(el);
    }
  });

  // Copy needs the clipboard API (and this script): show the buttons only where it works.
  function showCopyButtons(root) {
    if (!navigator.clipboard) {
      return;
    }
    root.querySelectorAll("[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  if (window.htmx) {
    window.htmx.onLoad(showCopyButtons);
  } else {
    showCopyButtons(document);
  }
})();
