/* 我的积分 (/map/points): sign in, balance, rewards with an exchange button, my requests and
   my history. Every value from the server is shown as text. */
(function () {
  "use strict";
  var W = window.wangge;
  var config = (W.config = JSON.parse(document.getElementById("points-config").textContent));
  var T = W.T;
  var en = config.lang === "en";
  var $ = function (id) {
    return document.getElementById(id);
  };
  var BOXES = ["balance-box", "rewards-box", "exchanges-box", "history-box"];
  document.documentElement.lang = en ? "en" : "zh-CN";

  function failure(r) {
    return T("failed", { why: r.status === 0 ? T("offline") : W.detail(r) });
  }

  function day(iso) {
    return new Date(iso).toLocaleDateString(en ? "en-GB" : "zh-CN");
  }

  function signed(n) {
    return (n > 0 ? "+" : "") + n;
  }

  function show(on) {
    BOXES.forEach(function (id) {
      $(id).hidden = !on;
    });
  }

  function fill(list, items, empty, line) {
    list.textContent = "";
    if (!items.length) list.appendChild(W.el("li", { class: "hint", text: empty }));
    items.forEach(function (item) {
      list.appendChild(line(item));
    });
  }

  function rewardLine(mine) {
    return function (r) {
      var short = mine.available < r.cost;
      var button = W.el("button", { type: "button", class: "exchange",
        text: r.stock <= 0 ? T("sold_out") : short ? T("not_enough") : T("exchange") });
      button.disabled = short || r.stock <= 0;
      button.addEventListener("click", function () {
        button.disabled = true;
        W.api("POST", "/api/points/exchanges", { reward_id: r.id }).then(function (x) {
          if (x.ok) W.status(T("exchange_asked", { name: r.name }), "ok");
          else W.status(failure(x), "error");
          load();
        });
      });
      return W.el("li", { "data-reward": String(r.id) }, [
        W.el("div", {}, [W.el("b", { text: r.name }), W.el("br"),
          W.el("span", { class: "hint", text: T("cost", { n: r.cost }) + " · " +
            T("stock", { n: r.stock }) })]),
        button,
      ]);
    };
  }

  function exchangeLine(x) {
    return W.el("li", { "data-exchange": String(x.id), class: "line" }, [
      W.el("span", { text: (x.reward || "") + " · " + T("cost", { n: x.cost }) }),
      W.el("span", { class: "state " + x.status, text: T("status_" + x.status) }),
    ]);
  }

  function entryLine(e) {
    return W.el("li", { class: "line" }, [
      W.el("div", {}, [W.el("span", { text: T("kind_" + e.kind) }), W.el("br"),
        W.el("span", { class: "hint", text: day(e.created_at) + " " + (e.note || "") })]),
      W.el("b", { class: e.points > 0 ? "plus" : "minus", text: signed(e.points) }),
    ]);
  }

  function load() {
    return Promise.all([W.api("GET", "/api/points/me"), W.api("GET", "/api/points/rewards")])
      .then(function (answers) {
        var me = answers[0];
        var rewards = answers[1];
        if (!me.ok) return W.status(failure(me), "error");
        var mine = me.data;
        $("balance").textContent = String(mine.balance);
        $("available").textContent = T("available", { n: mine.available,
          held: mine.balance - mine.available });
        fill($("rewards"), rewards.ok ? rewards.data : [], T("no_rewards"), rewardLine(mine));
        fill($("exchanges"), mine.exchanges, "—", exchangeLine);
        fill($("history"), mine.entries, T("no_history"), entryLine);
        document.body.dataset.loaded = String(Date.now());
      });
  }

  var params = new URLSearchParams(location.search);
  params.set("lang", en ? "zh" : "en");
  $("lang-switch").href = location.pathname + "?" + params.toString();

  W.setupSignIn(function (user) {
    show(!!user);
    if (user) load();
  }).then(function () {
    document.body.dataset.ready = "1";
  });
})();
