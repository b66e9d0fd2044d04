// Objects counted per label over a window, one line a label, from /api/streams/<name>/counts/, on the
// dashboard's line chart with clock times on the x axis (the window may be days long and in the past).
import { computed } from "vue";
import LineChart from "./LineChart.js";

const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"];
const TICKS = 6;

/** Clock times across the window (dates past a day). */
function clockTicks(from, to) {
  const span = to - from;
  return Array.from({ length: TICKS + 1 }, (_, i) => {
    const t = from + (span * i) / TICKS;
    const when = new Date(t * 1000);
    if (span > 2 * 86400) return [t, when.toLocaleDateString([], { month: "short", day: "numeric" })];
    const clock = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return [t, span > 86400 ? `${when.toLocaleDateString([], { weekday: "short" })} ${clock}` : clock];
  });
}

export default {
  name: "HistoryChart",
  components: { LineChart },
  props: {
    counts: { type: Array, required: true }, // [{start, label, count}] as the API gives them
    from: { type: Number, required: true }, // epoch seconds
    to: { type: Number, required: true },
    bucketSeconds: { type: Number, required: true },
  },
  setup(props) {
    // One line a label, every bucket of the window on it: a bucket without a row counted nobody.
    const lines = computed(() => {
      const first = Math.floor(props.from / props.bucketSeconds) * props.bucketSeconds;
      const byLabel = new Map();
      for (const { start, label, count } of props.counts) {
        if (!byLabel.has(label)) byLabel.set(label, new Map());
        byLabel.get(label).set(Date.parse(start) / 1000, count);
      }
      return [...byLabel.keys()].sort().map((label, index) => {
        const points = [];
        for (let t = first; t <= props.to; t += props.bucketSeconds) points.push([t, byLabel.get(label).get(t) || 0]);
        return { label, colour: COLOURS[index % COLOURS.length], axis: "left", points };
      });
    });
    const summary = computed(() => (lines.value.length
      ? `Objects counted per ${props.bucketSeconds >= 86400 ? "day" : props.bucketSeconds >= 3600 ? "hour" : "minute"}: `
        + lines.value.map((line) => `${line.label} up to ${Math.max(...line.points.map(([, c]) => c))}`).join(", ")
      : "Nothing counted in this window."));

    return { lines, summary, clockTicks, floors: { left: 1, right: 1 } };
  },
  template: `
    <figure class="chart-box history-chart" data-testid="history-chart" :data-labels="lines.map((line) => line.label).join(',')">
      <LineChart :series="lines" :from="from" :to="to" :gap-seconds="Infinity" :floors="floors" :ticks="clockTicks"
                 whole-numbers :summary="summary" />
      <figcaption>
        <ul class="legend">
          <li v-for="line in lines" :key="line.label">
            <span class="swatch" :style="{ background: line.colour }"></span>{{ line.label }}
          </li>
        </ul>
        <p v-if="!lines.length" class="muted">Nothing counted in this window.</p>
      </figcaption>
    </figure>`,
};
