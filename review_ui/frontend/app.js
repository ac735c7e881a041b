// Start GOV.UK Frontend and MOJ Frontend components; htmx needs no set-up.
import { initAll as govukInitAll } from "/static/js/govuk-frontend.min.js";
import { initAll as mojInitAll } from "/static/js/moj-frontend.min.js";

govukInitAll();
mojInitAll();

// htmx swaps in new HTML: start any components inside it too.
document.body.addEventListener("htmx:afterSwap", (event) => {
  govukInitAll({ scope: event.target });
});
