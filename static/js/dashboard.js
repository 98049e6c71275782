/* Owners' dashboard: draws each chart from the JSON in its canvas's data-chart-spec attribute
   (data, not code, so the strict CSP allows it; htmx keeps attributes where it would drop
   script blocks). Charts are redrawn when htmx swaps the panels. */
(function () {
  "use strict";

  var lang = document.documentElement.lang || "ru";
  var numberFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });

  function withAlpha(hex, alpha) {
    if (!hex || hex.charAt(0) !== "#" || hex.length !== 7) { return hex; }
    var r = parseInt(hex.slice(1, 3), 16), g = parseInt(hex.slice(3, 5), 16), b = parseInt(hex.slice(5, 7), 16);
    return "rgba(" + r + "," + g + "," + b + "," + alpha + ")";
  }

  function datasetsOf(spec) {
    var line = spec.type === "line";
    var sets = spec.datasets.map(function (d, index) {
      var colour = d.colors || d.color;
      return {
        label: d.label,
        data: d.data,
        backgroundColor: line ? withAlpha(d.color, 0.45) : colour,
        borderColor: line ? d.color : colour,
        borderWidth: line ? 1.5 : 0,
        pointRadius: 0,
        tension: 0.2,
        fill: line && d.fill ? (spec.stacked && index > 0 ? "-1" : "origin") : false
      };
    });
    if (spec.plan_line) {
      sets.push({
        type: "line", label: document.documentElement.lang === "ru" ? "План" : "Plan",
        data: spec.labels.map(function () { return spec.plan_line; }),
        borderColor: "#6c757d", borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, fill: false
      });
    }
    return sets;
  }

  function format(value, percent) {
    if (value === null || value === undefined) { return "—"; }
    return numberFormat.format(value) + (percent ? " %" : "");
  }

  function build(canvas) {
    var source = canvas.getAttribute("data-chart-spec");
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source);
    var previous = Chart.getChart(canvas);
    if (previous) { previous.destroy(); }
    var round = spec.type === "doughnut";
    var valueAxis = spec.horizontal ? "x" : "y";
    var scales = {};
    if (!round) {
      scales.x = { stacked: !!spec.stacked, grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true } };
      scales.y = { stacked: !!spec.stacked, beginAtZero: true };
      scales[valueAxis].ticks = { callback: function (v) { return format(v, spec.percent); } };
      if (spec.horizontal) { scales.y.grid = { display: false }; }
    }
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasetsOf(spec) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        interaction: { mode: round ? "nearest" : "index", intersect: round },
        scales: scales,
        plugins: {
          legend: { display: round || spec.datasets.length > 1, position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = spec.horizontal ? context.parsed.x : (round ? context.parsed : context.parsed.y);
                return (context.dataset.label ? context.dataset.label + ": " : "") + format(value, spec.percent);
              }
            }
          }
        }
      }
    });
  }

  function buildAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(build);
  }

  document.addEventListener("DOMContentLoaded", function () { buildAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { buildAll(event.detail.target); });

  // Picking dates means a custom period.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.id === "id_start" || field.id === "id_end") {
      var period = document.getElementById("id_period");
      if (period) { period.value = "custom"; }
    }
  });
})();
