// The console's own script: draws every chart on the page (and in every part htmx
// swaps in) from its element's data-chart attribute, an ECharts option as JSON, so
// that pages carry no inline script. In a template:
//   {% block head %}{% include "_echarts.html" %}{% endblock %}
//   <div class="chart" data-chart='{{ option|tojson }}'></div>
(function () {
  "use strict";
  function draw(root) {
    if (!window.echarts) return;  // a page without charts does not load ECharts
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = echarts.getInstanceByDom(element) || echarts.init(element);
      chart.setOption(JSON.parse(element.getAttribute("data-chart")), true);
    });
  }
  window.addEventListener("resize", function () {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = echarts.getInstanceByDom(element);
      if (chart) chart.resize();
    });
  });
  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
    if (window.htmx) htmx.onLoad(draw);  // each part htmx swaps in (drawing twice is harmless)
  });
})();
