// When the server says the session has ended (idle timeout, sign-out elsewhere, account disabled),
// go to the sign-in page, which brings the reader back here afterwards, instead of leaving a page
// whose controls silently stop answering.
(function () {
  const originalFetch = window.fetch;
  window.fetch = async function (...args) {
    const response = await originalFetch.apply(this, args);
    const url = typeof args[0] === "string" ? args[0] : (args[0] && args[0].url) || "";
    if (response.status === 401 && url.includes("/_dash-")) {
      const here = window.location.pathname + window.location.search;
      window.location.assign("/login?next=" + encodeURIComponent(here));
    }
    return response;
  };
})();
