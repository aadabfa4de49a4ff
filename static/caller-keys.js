/* Keyboard shortcuts for the call team (no dependencies).
   N: press the element marked data-key="n" ("Next case") when not typing in a field.
   1-9, 0, X: choose the outcome radio with that data-key, on the caller's screen.
   Enter on an outcome radio: save the form marked data-enter-submits. */
(function () {
  "use strict";
  function typing(el) {
    if (!el) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && !/^(radio|checkbox|button|submit)$/i.test(el.type);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var active = document.activeElement;
    if (event.key === "Enter" && active && active.type === "radio") {
      var form = active.closest("form[data-enter-submits]");
      if (form) { event.preventDefault(); active.checked = true; form.requestSubmit(); }
      return;
    }
    if (typing(active)) return;
    var key = event.key.toLowerCase();
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) return;
    event.preventDefault();
    if (target.type === "radio") {
      target.checked = true;
      target.focus();
      target.dispatchEvent(new Event("change", { bubbles: true }));
    } else {
      target.click();
    }
  });
})();
