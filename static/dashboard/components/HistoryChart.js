// Objects counted per label over a window, one line a label, from /api/streams/<name>/counts/. Its own
// canvas drawing rather than core/chart.js, whose x axis counts minutes back from now: here the window may
// be days long and in the past, so the axis shows clock times (and dates past a day).
import { computed, onBeforeUnmount, onMounted, ref, watch } from "vue";

const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"];
const PAD = { left: 40, right: 12, top: 10, bottom: 24 };
const TICKS = 6;

function tickLabel(t, span) {
  const when = new Date(t * 1000);
  if (span > 2 * 86400) return when.toLocaleDateString([], { month: "short", day: "numeric" });
  const clock = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return span > 86400 ? `${when.toLocaleDateString([], { weekday: "short" })} ${clock}` : clock;
}

function draw(ctx, { lines, from, to, scale }) {
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  const left = PAD.left * scale;
  const right = width - PAD.right * scale;
  const top = PAD.top * scale;
  const bottom = height - PAD.bottom * scale;
  if (right <= left || bottom <= top || to <= from) return;
  const most = Math.max(1, ...lines.flatMap((line) => line.points.map(([, count]) => count)));
  const ceiling = most <= 4 ? most : Math.ceil(most / 4) * 4;
  const x = (t) => left + ((t - from) / (to - from)) * (right - left);
  const y = (count) => bottom - (count / ceiling) * (bottom - top);

  ctx.font = `${11 * scale}px system-ui, sans-serif`;
  ctx.lineWidth = scale;
  ctx.strokeStyle = "#d7dbe2";
  ctx.fillStyle = "#4b5563";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = 0; i <= 4; i += 1) {
    const value = (ceiling * i) / 4;
    ctx.beginPath();
    ctx.moveTo(left, y(value));
    ctx.lineTo(right, y(value));
    ctx.stroke();
    if (Number.isInteger(value)) ctx.fillText(String(value), left - 4 * scale, y(value));
  }
  ctx.textBaseline = "top";
  for (let i = 0; i <= TICKS; i += 1) {
    const t = from + ((to - from) * i) / TICKS;
    ctx.textAlign = i === 0 ? "left" : i === TICKS ? "right" : "center"; // the ends stay inside the canvas
    ctx.fillText(tickLabel(t, to - from), x(t), bottom + 5 * scale);
  }
  ctx.lineWidth = 2 * scale;
  for (const { colour, points } of lines) {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    points.forEach(([t, count], index) => (index ? ctx.lineTo(x(t), y(count)) : ctx.moveTo(x(t), y(count))));
    ctx.stroke();
  }
}

export default {
  name: "HistoryChart",
  props: {
    counts: { type: Array, required: true }, // [{start, label, count}] as the API gives them
    from: { type: Number, required: true }, // epoch seconds
    to: { type: Number, required: true },
    bucketSeconds: { type: Number, required: true },
  },
  setup(props) {
    const canvas = ref(null);
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
        return { label, colour: COLOURS[index % COLOURS.length], points };
      });
    });
    const summary = computed(() => (lines.value.length
      ? `Objects counted per ${props.bucketSeconds >= 86400 ? "day" : props.bucketSeconds >= 3600 ? "hour" : "minute"}: `
        + lines.value.map((line) => `${line.label} up to ${Math.max(...line.points.map(([, c]) => c))}`).join(", ")
      : "Nothing counted in this window."));

    let resizes = null;
    function redraw() {
      const element = canvas.value;
      const scale = window.devicePixelRatio || 1;
      element.width = Math.round(element.clientWidth * scale);
      element.height = Math.round(element.clientHeight * scale);
      if (element.width && element.height) {
        draw(element.getContext("2d"), { lines: lines.value, from: props.from, to: props.to, scale });
      }
    }
    onMounted(() => {
      resizes = new ResizeObserver(redraw);
      resizes.observe(canvas.value);
    });
    onBeforeUnmount(() => resizes.disconnect());
    watch(lines, redraw);
    return { canvas, lines, summary };
  },
  template: `
    <figure class="chart-box history-chart">
      <canvas ref="canvas" class="chart" role="img" :aria-label="summary" data-testid="history-chart"
              :data-labels="lines.map((line) => line.label).join(',')"></canvas>
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
