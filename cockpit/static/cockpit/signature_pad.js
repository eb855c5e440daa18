/* A signature pad for the proof of delivery: the patient (or designee) signs with a
   finger, pen or mouse on a canvas (pointer events); the drawing goes into the form's
   hidden field as a PNG data URL (data:image/png;base64,...), which the delivery keeps
   encrypted (Delivery.signature_image). Written for AriesOne, no library, no CDN; the
   page loads it as a static file (Content-Security-Policy: scripts from this site). */
(function () {
  "use strict";

  function SignaturePad(canvas, field, clearButton) {
    var context = canvas.getContext("2d");
    var drawing = false;
    var drawn = false;
    var last = null;

    function resize() {
      // The canvas' pixels follow its on-screen size (phones rotate, screens differ).
      var ratio = window.devicePixelRatio || 1;
      var rect = canvas.getBoundingClientRect();
      var kept = drawn ? canvas.toDataURL("image/png") : null;
      canvas.width = Math.max(1, Math.round(rect.width * ratio));
      canvas.height = Math.max(1, Math.round(rect.height * ratio));
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      context.lineWidth = 2.2;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      if (kept) {
        var image = new Image();
        image.onload = function () { context.drawImage(image, 0, 0, rect.width, rect.height); };
        image.src = kept;
      }
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    }

    function start(event) {
      event.preventDefault();
      drawing = true;
      last = point(event);
      if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
      context.beginPath();
      context.arc(last.x, last.y, 1, 0, 2 * Math.PI);
      context.fill();
      drawn = true;
    }

    function move(event) {
      if (!drawing) { return; }
      event.preventDefault();
      var next = point(event);
      context.beginPath();
      context.moveTo(last.x, last.y);
      context.lineTo(next.x, next.y);
      context.stroke();
      last = next;
    }

    function end(event) {
      if (!drawing) { return; }
      drawing = false;
      if (canvas.releasePointerCapture) { canvas.releasePointerCapture(event.pointerId); }
      field.value = canvas.toDataURL("image/png");
    }

    function clear() {
      context.clearRect(0, 0, canvas.width, canvas.height);
      drawn = false;
      field.value = "";
    }

    canvas.addEventListener("pointerdown", start);
    canvas.addEventListener("pointermove", move);
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("pointerleave", end);
    if (clearButton) {
      clearButton.addEventListener("click", function (event) { event.preventDefault(); clear(); });
    }
    window.addEventListener("resize", resize);
    resize();
    if (field.value) {
      // A form shown again after an error keeps the signature already drawn.
      var image = new Image();
      image.onload = function () {
        var rect = canvas.getBoundingClientRect();
        context.drawImage(image, 0, 0, rect.width, rect.height);
        drawn = true;
      };
      image.src = field.value;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var pads = document.querySelectorAll("[data-signature-pad]");
    Array.prototype.forEach.call(pads, function (pad) {
      var canvas = pad.querySelector("canvas");
      var field = document.getElementById(pad.getAttribute("data-signature-pad"));
      if (canvas && field) {
        new SignaturePad(canvas, field, pad.querySelector("[data-signature-clear]"));
      }
    });
  });
})();
