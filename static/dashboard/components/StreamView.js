// One stream's live picture with its boxes, and its figures: results per second, latency (capture to
// result, and capture to drawn) and dropped frames. Used by the grid's tiles (with the workers' previews,
// a quarter of a frame's pixels: what lets a machine draw many streams at full rate) and the large view.
import { computed, onBeforeUnmount, onMounted, ref } from "vue";
import { fleet } from "../core/fleet.js";
import { fixed, millis } from "../core/format.js";
import { acquireFeed, releaseFeed } from "../live/feed.js";
import { queueColour } from "../live/paint.js";
import { Surface } from "../live/surface.js";

export default {
  name: "StreamView",
  props: {
    stream: { type: String, required: true },
    picture: { type: String, default: "full" }, // or "preview"
  },
  setup(props) {
    const feed = acquireFeed(props.stream, props.picture);
    const canvas = ref(null);
    onMounted(() => {
      feed.surface = new Surface(canvas.value);
    });
    onBeforeUnmount(() => {
      feed.surface.dispose();
      feed.surface = null;
      releaseFeed(feed);
    });
    const drops = computed(() => {
      const figures = fleet.streams[props.stream];
      return figures ? `${figures.expired + figures.overflow} dropped` : "–";
    });
    return { canvas, view: feed.view, drops, fixed, millis, queueColour };
  },
  template: `
    <section class="stream-view" :data-stream="stream">
      <slot></slot>
      <div class="picture">
        <canvas ref="canvas" role="img" :aria-label="'Live picture of ' + stream"></canvas>
        <p v-if="view.state === 'refused'" class="stream-state refused" role="status">{{ view.why }}</p>
        <p v-else-if="view.state === 'reconnecting'" class="stream-state" role="status">{{ view.why }}</p>
        <p v-else-if="view.state === 'open' && !view.anyResult" class="stream-state" role="status">Waiting for results…</p>
      </div>
      <dl class="figures">
        <div><dt>Results</dt><dd data-testid="stream-fps">{{ fixed(view.fps) }} fps</dd></div>
        <div><dt>Latency</dt><dd data-testid="stream-latency">{{ millis(view.latency) }}
          <span class="muted">(drawn {{ millis(view.drawLatency) }})</span></dd></div>
        <div><dt>Drops</dt><dd data-testid="stream-drops">{{ drops }}</dd></div>
      </dl>
      <ul v-if="view.queues.length > 1" class="queue-legend" aria-label="Box colours by queue">
        <li v-for="queue in view.queues" :key="queue"><span class="swatch" :style="{ background: queueColour(queue) }"></span>{{ queue }}</li>
      </ul>
    </section>`,
};
