/* The what-if page's own script: reads an uploaded scenario in the browser (nothing is
   stored by the server before the loader's size check) and writes the loader's messages
   next to their controls. */
(function () {
  "use strict";

  function sendUpload(name, size, data) {
    Shiny.setInputValue("upload_text",
      { name: name, size: size, data: data, nonce: Date.now() + Math.random() },
      { priority: "event" });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.id !== "upload" || !input.files || !input.files.length) return;
    var file = input.files[0];
    var limit = parseInt(input.getAttribute("data-limit"), 10);
    if (file.size > limit) {
      sendUpload(file.name, file.size, null);
      input.value = "";
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      var url = String(reader.result);
      sendUpload(file.name, file.size, url.slice(url.indexOf(",") + 1));
      input.value = "";
    };
    reader.readAsDataURL(file);
  });

  function update(message) {
    var errors = message.errors || {};
    document.querySelectorAll(".ctl-error[data-control]").forEach(function (slot) {
      var text = errors[slot.getAttribute("data-control")] || "";
      slot.textContent = text;
      slot.hidden = !text;
    });
    var shares = message.shares || {};
    Object.keys(shares).forEach(function (id) {
      var element = document.getElementById(id);
      if (element) element.textContent = shares[id];
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Shiny.addCustomMessageHandler("servicesim-update", update);
  });
})();
