// The administrator's screens: the admission photo (a preview of the picture taken with
// the tablet's camera or chosen; on a desktop with a webcam, a way to take it there), and
// the allergy rows switched off while "No known allergies" is ticked. The form works
// without any of this.
(function () {
  "use strict";

  function showPreview(capture, file) {
    var preview = capture.querySelector("[data-photo-preview]");
    var placeholder = capture.querySelector("[data-photo-placeholder]");
    if (!preview || !file) { return; }
    if (preview.dataset.url) { URL.revokeObjectURL(preview.dataset.url); }
    preview.dataset.url = URL.createObjectURL(file);
    preview.src = preview.dataset.url;
    preview.alt = "The photo that will be saved";
    preview.hidden = false;
    if (placeholder) { placeholder.hidden = true; }
  }

  function setUpWebcam(capture, input) {
    var start = capture.querySelector("[data-webcam-start]");
    var box = capture.querySelector("[data-webcam]");
    var video = capture.querySelector("[data-webcam-video]");
    var snap = capture.querySelector("[data-webcam-snap]");
    var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    if (!start || coarse || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
        typeof DataTransfer === "undefined") {
      return;  // tablets use the file input's camera (capture="user")
    }
    start.hidden = false;
    var stream = null;
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false })
        .then(function (media) {
          stream = media;
          video.srcObject = media;
          box.hidden = false;
          start.hidden = true;
        })
        .catch(function () {
          start.textContent = "No camera available: choose a picture instead";
          start.disabled = true;
        });
    });
    snap.addEventListener("click", function () {
      if (!stream) { return; }
      var canvas = document.createElement("canvas");
      canvas.width = video.videoWidth || 640;
      canvas.height = video.videoHeight || 480;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        var file = new File([blob], "camera.jpg", { type: "image/jpeg" });
        var transfer = new DataTransfer();
        transfer.items.add(file);
        input.files = transfer.files;
        showPreview(capture, file);
        stream.getTracks().forEach(function (track) { track.stop(); });
        stream = null;
        box.hidden = true;
        start.hidden = false;
        start.textContent = "Take it again";
      }, "image/jpeg", 0.9);
    });
  }

  function setUpPhoto() {
    document.querySelectorAll("[data-photo-capture]").forEach(function (capture) {
      var input = capture.querySelector("[data-photo-input]");
      if (!input) { return; }
      input.addEventListener("change", function () {
        showPreview(capture, input.files && input.files[0]);
      });
      setUpWebcam(capture, input);
    });
  }

  function setUpAllergies() {
    var none = document.getElementById("id_has_no_known_allergies");
    var rows = document.querySelector("[data-allergy-rows]");
    if (!none || !rows) { return; }
    function sync() {
      rows.querySelectorAll("input, select").forEach(function (field) {
        field.disabled = none.checked;
      });
    }
    none.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpPhoto();
    setUpAllergies();
  });
})();
