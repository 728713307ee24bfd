/* The red-points pages. 我的积分 (/map/points): sign in, balance, rewards with an exchange
   button, my requests, my history. The community's desk (/map/points/community): record an
   activity with its participants, confirm or refuse exchanges, rewards, the ranking per grid,
   past activities. Every value from the server is shown as text. */
(function () {
  "use strict";
  var W = window.wangge;
  var config = (W.config = JSON.parse(document.getElementById("points-config").textContent));
  var T = W.T;
  var en = config.lang === "en";
  var $ = function (id) {
    return document.getElementById(id);
  };
  document.documentElement.lang = en ? "en" : "zh-CN";

  function failure(r) {
    return T("failed", { why: r.status === 0 ? T("offline") : W.detail(r) });
  }

  function fill(list, items, empty, line) {
    list.textContent = "";
    if (!items.length) list.appendChild(W.el("li", { class: "hint", text: empty }));
    items.forEach(function (item) {
      list.appendChild(line(item));
    });
  }

  /* 我的积分 on the phone */
  function startMine() {
    var BOXES = ["balance-box", "rewards-box", "exchanges-box", "history-box"];

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

    return W.setupSignIn(function (user) {
      show(!!user);
      if (user) load();
    });
  }

  /* the community's desk */
  function startDesk() {
    function today() {
      var d = new Date(); // the browser's own calendar day, not UTC's
      return [d.getFullYear(), d.getMonth() + 1, d.getDate()].map(function (n) {
        return n < 10 ? "0" + n : String(n);
      }).join("-");
    }

    function community() {
      return $("community").value;
    }

    function get(path) {
      var sep = path.indexOf("?") < 0 ? "?" : "&";
      return W.api("GET", "/api/points/" + path + sep + "community=" + community());
    }

    function loadPeople() {
      return get("community/people").then(function (r) {
        if (!r.ok) return W.status(failure(r), "error");
        fill($("people"), r.data, T("no_people"), function (p) {
          var box = W.el("input", { type: "checkbox", name: "who", value: p.username });
          var points = W.el("input", { type: "number", min: "1", class: "points-each",
            placeholder: T("points_each"), "aria-label": T("points_each") + " " + p.name });
          var role = T("role_" + p.role) + (p.grid_name ? " · " + p.grid_name : "");
          return W.el("li", { class: "person", "data-username": p.username }, [
            W.el("label", { class: "check" }, [box, W.el("span", { text: p.name }),
              W.el("span", { class: "hint", text: role })]),
            points,
          ]);
        });
      });
    }

    function participants() {
      var out = [];
      $("people").querySelectorAll("li.person").forEach(function (li) {
        if (!li.querySelector("input[type=checkbox]").checked) return;
        var n = parseInt(li.querySelector(".points-each").value, 10);
        out.push(n > 0 ? { username: li.dataset.username, points: n }
          : { username: li.dataset.username });
      });
      $("activity-others").value.split(/[,，、\s]+/).forEach(function (name) {
        if (name) out.push({ username: name });
      });
      return out;
    }

    function loadExchanges() {
      return get("community/exchanges?status=requested").then(function (r) {
        if (!r.ok) return W.status(failure(r), "error");
        fill($("exchanges"), r.data, T("no_exchanges"), function (x) {
          function decide(confirm) {
            return function () {
              W.api("POST", "/api/points/exchanges/" + x.id + "/decision", { confirm: confirm })
                .then(function (d) {
                  if (!d.ok) return W.status(failure(d), "error");
                  var said = { who: x.name, name: x.reward };
                  W.status(T(confirm ? "confirmed" : "refused", said), "ok");
                  refresh();
                });
            };
          }
          return W.el("li", { class: "line", "data-exchange": String(x.id) }, [
            W.el("span", { text: x.name + " · " + x.reward + " · " + T("cost", { n: x.cost }) }),
            W.el("span", { class: "actions" }, [
              W.el("button", { type: "button", class: "confirm", text: T("confirm"),
                onclick: decide(true) }),
              W.el("button", { type: "button", class: "refuse", text: T("refuse"),
                onclick: decide(false) }),
            ]),
          ]);
        });
      });
    }

    function loadRewards() {
      return get("community/rewards").then(function (r) {
        if (!r.ok) return W.status(failure(r), "error");
        fill($("rewards"), r.data, T("no_rewards"), function (w) {
          function change(body) {
            W.api("PATCH", "/api/points/rewards/" + w.id, body).then(function (x) {
              if (!x.ok) W.status(failure(x), "error");
              loadRewards();
            });
          }
          var stock = W.el("input", { type: "number", min: "0", class: "stock-edit",
            value: String(w.stock), "aria-label": T("reward_stock") + " " + w.name });
          var line = { class: "line" + (w.active ? "" : " off"), "data-reward": String(w.id) };
          return W.el("li", line, [
            W.el("span", { text: w.name + " · " + T("cost", { n: w.cost }) + " · " +
              T("stock", { n: w.stock }) + " · " + T(w.active ? "on_offer" : "off_offer") }),
            W.el("span", { class: "actions" }, [
              stock,
              W.el("button", { type: "button", class: "set-stock", text: T("set_stock"),
                onclick: function () {
                  change({ stock: parseInt(stock.value, 10) });
                } }),
              W.el("button", { type: "button", class: "toggle",
                text: T(w.active ? "take_off" : "put_on"), onclick: function () {
                  change({ active: !w.active });
                } }),
            ]),
          ]);
        });
      });
    }

    function loadRanking() {
      return get("ranking").then(function (r) {
        var box = $("ranking");
        box.textContent = "";
        if (!r.ok) return W.status(failure(r), "error");
        var groups = r.data.grids.map(function (g) {
          return { title: g.grid_name ? T("ranking_grid", { grid: g.grid_name })
            : T("ranking_no_grid"), people: g.people };
        });
        groups.push({ title: T("ranking_residents"), people: r.data.residents });
        groups = groups.filter(function (g) {
          return g.people.length;
        });
        if (!groups.length) box.appendChild(W.el("p", { class: "hint", text: T("no_ranking") }));
        groups.forEach(function (g) {
          var list = W.el("ol", { class: "plain ranking" });
          g.people.forEach(function (p) {
            list.appendChild(W.el("li", { text: T("rank_line", p) }));
          });
          box.appendChild(W.el("h3", { text: g.title }));
          box.appendChild(list);
        });
      });
    }

    function loadActivities() {
      return get("activities").then(function (r) {
        if (!r.ok) return W.status(failure(r), "error");
        fill($("activities"), r.data, T("no_activities"), function (a) {
          var who = a.participants.map(function (p) {
            return p.name + " +" + p.points;
          }).join("、");
          return W.el("li", {}, [
            W.el("b", { text: T("activity_line", { date: a.held_on, name: a.name,
              n: a.participants.length }) }),
            W.el("br"), W.el("span", { class: "hint", text: who }),
          ]);
        });
      });
    }

    function refresh() {
      return Promise.all([loadExchanges(), loadRewards(), loadRanking(), loadActivities()])
        .then(function () {
          document.body.dataset.loaded = String(Date.now());
        });
    }

    $("participants-hint").textContent = T("participants", { n: config.default_points });
    $("activity-date").value = today();
    $("community").addEventListener("change", function () {
      loadPeople();
      refresh();
    });

    $("activity-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var who = participants();
      if (!who.length) return W.status(T("pick_someone"), "error");
      var body = { community_code: community(), name: $("activity-name").value.trim(),
        held_on: $("activity-date").value, participants: who };
      W.api("POST", "/api/points/activities", body).then(function (r) {
        if (!r.ok) return W.status(failure(r), "error");
        W.status(T("activity_saved", { name: body.name, n: r.data.participants }), "ok");
        $("activity-form").reset();
        $("activity-date").value = today();
        refresh();
      });
    });

    $("reward-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(event.target);
      var body = { community_code: community(), name: String(data.get("name")).trim(),
        cost: parseInt(data.get("cost"), 10), stock: parseInt(data.get("stock"), 10) };
      W.api("POST", "/api/points/rewards", body).then(function (r) {
        if (!r.ok) return W.status(failure(r), "error");
        event.target.reset();
        loadRewards();
      });
    });

    return W.setupSignIn(function (user) {
      $("desk").hidden = true;
      if (!user) return;
      W.api("GET", "/api/points/communities").then(function (r) {
        if (r.status === 403) return W.status(T("staff_only"), "error");
        if (!r.ok) return W.status(failure(r), "error");
        var select = $("community");
        select.textContent = "";
        r.data.forEach(function (c) {
          select.appendChild(W.el("option", { value: c.code, text: c.name + " " + c.code }));
        });
        if (!r.data.length) return W.status(T("staff_only"), "error");
        $("desk").hidden = false;
        return Promise.all([loadPeople(), refresh()]);
      });
    });
  }

  var params = new URLSearchParams(location.search);
  params.set("lang", en ? "zh" : "en");
  $("lang-switch").href = location.pathname + "?" + params.toString();
  (config.page === "points_community" ? startDesk : startMine)().then(function () {
    document.body.dataset.ready = "1";
  });
})();
