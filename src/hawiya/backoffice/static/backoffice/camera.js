/* The biometrics page's camera (progressive enhancement: without JavaScript or a camera the same
   form takes a photo file). A live preview; "Take photo" crops the frame to a portrait 3:4, draws
   it on a canvas and puts the JPEG into the form's file input through a DataTransfer, so the
   server receives it exactly as an uploaded file. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-camera]");
    var form = document.querySelector("[data-biometrics-form]");
    if (!box || !form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.DataTransfer) {
      return;
    }
    var video = box.querySelector("[data-camera-video]");
    var canvas = box.querySelector("[data-camera-canvas]");
    var still = box.querySelector("[data-camera-still]");
    var take = box.querySelector("[data-camera-take]");
    var status = box.querySelector("[data-camera-status]");
    var input = form.querySelector("input[type=file][name=photo]");
    if (!input) {
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        box.hidden = false;
      })
      .catch(function () {
        /* No camera or no permission: the file input stays the way to give a photo. */
      });
    take.addEventListener("click", function () {
      var width = video.videoWidth;
      var height = video.videoHeight;
      if (!width || !height) {
        return;
      }
      // The largest portrait 3:4 area in the middle of the frame, scaled to at least 600 × 800.
      var cropHeight = Math.min(height, Math.floor(width * 4 / 3));
      var cropWidth = Math.floor(cropHeight * 3 / 4);
      var x = Math.floor((width - cropWidth) / 2);
      var y = Math.floor((height - cropHeight) / 2);
      canvas.width = Math.max(600, cropWidth);
      canvas.height = Math.max(800, cropHeight);
      canvas.getContext("2d").drawImage(video, x, y, cropWidth, cropHeight, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (!blob) {
          return;
        }
        var file = new File([blob], "camera.jpg", { type: "image/jpeg" });
        var transfer = new DataTransfer();
        transfer.items.add(file);
        input.files = transfer.files;
        still.src = URL.createObjectURL(blob);
        still.hidden = false;
        status.textContent = box.dataset.takenText || "";
      }, "image/jpeg", 0.9);
    });
  });
})();
