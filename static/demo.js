/* Demo page: list the webhooks the stand-in CRM has received (polls every 2 s). */
(function () {
  "use strict";
  var list = document.getElementById("demo-events");
  function render(events) {
    list.textContent = "";
    if (!events.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = list.getAttribute("data-empty");
      list.appendChild(empty);
      return;
    }
    events.forEach(function (e) {
      var item = document.createElement("li");
      var name = document.createElement("code");
      name.textContent = e.name || e.event;
      var meta = document.createElement("span");
      meta.textContent = " user " + e.user_id + (e.ref_id ? ", ref " + e.ref_id : "") +
        " · " + e.timestamp + " · id " + String(e.event_id).slice(0, 8);
      item.appendChild(name);
      item.appendChild(meta);
      list.appendChild(item);
    });
  }
  function poll() {
    fetch(list.getAttribute("data-url"), { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (data) { render(data.events); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
