// What every page's markup asks of a script, kept out of the markup: the Content-Security-Policy
// allows scripts from /static only, so no inline handlers, no hx-on, no style attributes.
(function () {
  "use strict";

  // <form data-confirm="Delete this?">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation(); // htmx must not send it either
    }
  }, true);

  // <form data-reset-on-success>: cleared once htmx's request for it succeeded.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form.matches && form.matches("form[data-reset-on-success]")) {
      form.reset();
    }
  });

  // <span data-height="42.5">: a bar of a chart, that tall in percent (set through the DOM,
  // which the policy allows, instead of a style attribute, which it does not).
  function sizeBars(root) {
    root.querySelectorAll("[data-height]").forEach(function (bar) {
      bar.style.height = parseFloat(bar.getAttribute("data-height")) + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { sizeBars(document); });
  document.addEventListener("htmx:load", function (event) { sizeBars(event.detail.elt); });
})();
