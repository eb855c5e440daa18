/* The claim form's coverage picker lists the chosen patient's coverages only: every
   autocomplete request for the coverage field carries the patient's id (the patient
   field's value on a new claim, the claim's patient, data-patient, on an existing one);
   CoverageAdmin.get_search_results filters on it. Loaded after the admin's jQuery. */
(function () {
  "use strict";
  var $ = window.django && window.django.jQuery;
  if (!$) {
    return;
  }
  function patientId() {
    var field = document.getElementById("id_patient");
    if (field && field.value) {
      return field.value;
    }
    var coverage = document.getElementById("id_coverage");
    return (coverage && coverage.getAttribute("data-patient")) || "";
  }
  $.ajaxPrefilter(function (options) {
    if (typeof options.data !== "string" || options.data.indexOf("field_name=coverage") === -1) {
      return;
    }
    var patient = patientId();
    if (patient) {
      options.data += "&patient=" + encodeURIComponent(patient);
    }
  });
  $(function () {
    // A new patient chosen: the coverage chosen for the previous one no longer fits.
    $("#id_patient").on("change", function () {
      var coverage = $("#id_coverage");
      if (coverage.length && coverage.val()) {
        coverage.val(null).trigger("change");
      }
    });
  });
})();
