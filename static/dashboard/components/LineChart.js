// A canvas with a time-series chart (see core/chart.js), redrawn when its data or its size change.
import { onBeforeUnmount, onMounted, ref, watch } from "vue";
import { drawChart } from "../core/chart.js";

export default {
  name: "LineChart",
  props: {
    series: { type: Array, required: true },
    from: { type: Number, required: true },
    to: { type: Number, required: true },
    gapSeconds: { type: Number, default: 15 },
    floors: { type: Object, default: () => ({ left: 1, right: 1 }) },
    ticks: { type: Function, default: undefined }, // the x axis' [[t, text]] (drawChart's default: minutes back)
    wholeNumbers: { type: Boolean, default: false },
    summary: { type: String, default: "" },
  },
  setup(props) {
    const canvas = ref(null);
    let resizes = null;

    function draw() {
      const element = canvas.value;
      const scale = window.devicePixelRatio || 1;
      const width = Math.round(element.clientWidth * scale);
      const height = Math.round(element.clientHeight * scale);
      if (!width || !height) return;
      element.width = width;
      element.height = height;
      drawChart(element.getContext("2d"), { ...props, scale });
      element.dataset.samples = Math.max(0, ...props.series.map((s) => s.points.length));
    }

    onMounted(() => {
      resizes = new ResizeObserver(draw);
      resizes.observe(canvas.value);
    });
    onBeforeUnmount(() => resizes.disconnect());
    watch(() => [props.series, props.from, props.to, props.ticks], draw);
    return { canvas };
  },
  template: `<canvas ref="canvas" class="chart" role="img" :aria-label="summary"></canvas>`,
};
