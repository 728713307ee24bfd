/* Shared by the service-order pages (order.js, volunteer.js), loaded before them: the page's
   config and language link, and times, distances and failures in the page's language. */
(function () {
  "use strict";
  var W = window.wangge;
  var config = JSON.parse(document.getElementById("service-config").textContent);
  var en = config.lang === "en";
  W.config = config;
  document.documentElement.lang = en ? "en" : "zh-CN";
  var params = new URLSearchParams(location.search);
  params.set("lang", en ? "zh" : "en");
  document.getElementById("lang-switch").href =
    location.pathname + "?" + params.toString() + location.hash;

  W.service = {
    en: en,
    /* a field in the page's language: obj.name or obj.name_en */
    local: function (obj, key) {
      return (en ? obj[key + "_en"] : obj[key]) || obj[key];
    },
    failure: function (r) {
      return r.status === 0 ? W.T("offline") : W.detail(r);
    },
    when: function (iso) {
      return new Date(iso).toLocaleString(en ? "en-GB" : "zh-CN", {
        month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
      });
    },
    distance: function (m) {
      return m < 1000 ? W.T("metres", { m: Math.round(m) })
        : W.T("km", { km: (m / 1000).toFixed(1) });
    },
  };
})();
