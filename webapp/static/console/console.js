// The console's only script of its own (htmx aside). The Content-Security-Policy allows no inline
// script and no javascript: links, so behaviour lives here.
document.addEventListener("click", function (event) {
  var back = event.target.closest && event.target.closest("a[data-back]");
  if (back && history.length > 1) {  // without history (or without script) the link goes to /console
    event.preventDefault();
    history.back();
  }
});
