// One inference service: status, replicas, a chart of its last 10 minutes, its latest scaling events,
// enable/disable, and its scaling policy.
import { computed, ref } from "vue";
import { api, apiList } from "../core/api.js";
import { clockTime, fixed } from "../core/format.js";
import { usePoll } from "../core/poll.js";
import { useSending } from "../core/sending.js";
import { can } from "../core/session.js";
import LineChart from "./LineChart.js";
import PolicyForm from "./PolicyForm.js";
import StatusBadge from "./StatusBadge.js";

const HISTORY_MINUTES = 10;
const SERIES = [
  { key: "infer_fps", label: "Inferred fps", colour: "#2563eb", axis: "left" },
  { key: "drop_fps", label: "Dropped fps", colour: "#dc2626", axis: "left" },
  { key: "scale_ratio", label: "Scale ratio", colour: "#16a34a", axis: "right" },
  { key: "replicas", label: "Replicas", colour: "#6b7280", axis: "right", dashed: true },
];

export default {
  name: "ServiceRow",
  components: { LineChart, PolicyForm, StatusBadge },
  props: {
    service: { type: Object, required: true },
    sharedWith: { type: Array, default: () => [] },
  },
  emits: ["changed"],
  setup(props, { emit }) {
    const path = `/api/services/${encodeURIComponent(props.service.name)}`;
    const history = ref({ interval_seconds: 5, samples: [] });
    const now = ref(Date.now() / 1000);
    const events = ref([]);

    const historyPoll = usePoll(async () => {
      history.value = await api(`${path}/history/?minutes=${HISTORY_MINUTES}`);
      now.value = Date.now() / 1000;
    }, 5000, `history:${props.service.name}`);
    const eventsPoll = usePoll(async () => {
      events.value = await apiList("/api/scaling-events/", { service: props.service.name, page_size: "5" });
    }, 5000, `events:${props.service.name}`);

    const series = computed(() => SERIES.map(({ key, ...rest }) => ({
      ...rest, points: history.value.samples.map((sample) => [sample.t, sample[key]]),
    })));
    const summary = computed(() => {
      const last = history.value.samples.at(-1);
      return last
        ? `Last ${HISTORY_MINUTES} minutes of ${props.service.name}: now ${fixed(last.infer_fps)} fps inferred, `
          + `${fixed(last.drop_fps)} fps dropped, scale ratio ${fixed(last.scale_ratio, 2)}, ${last.replicas} replicas.`
        : `No samples of ${props.service.name} in the last ${HISTORY_MINUTES} minutes.`;
    });

    const { busy, error: actionError, send: setEnabled } = useSending(async (enabled) => {
      emit("changed", await api(`${path}/`, { method: "PATCH", body: { enabled } }));
    });

    return {
      history, now, events, series, summary, busy, actionError, setEnabled, clockTime, fixed, HISTORY_MINUTES,
      historyError: historyPoll.error, eventsError: eventsPoll.error,
      canToggle: computed(() => can("services", "change")),
      canEditPolicy: computed(() => can("policies", "change")),
    };
  },
  template: `
    <article class="card service-row" data-testid="service-row" :data-service="service.name">
      <header class="row-header">
        <h2>{{ service.name }}</h2>
        <StatusBadge :status="service.status" :message="service.status_message" />
        <span class="replicas" title="Ready / desired replicas">
          <span data-testid="replicas">{{ service.replicas_ready ?? 0 }}/{{ service.replicas_desired ?? 0 }}</span> ready
        </span>
        <span class="muted">queue {{ service.queue }} · {{ service.model_label }} · {{ service.device }}</span>
        <span class="spacer"></span>
        <template v-if="canToggle">
          <button v-if="service.enabled" type="button" data-testid="service-disable" :disabled="busy" @click="setEnabled(false)">Disable</button>
          <button v-else type="button" data-testid="service-enable" :disabled="busy" @click="setEnabled(true)">Enable</button>
        </template>
      </header>
      <p v-if="service.status_message && service.status !== 'ready'" class="status-message">{{ service.status_message }}</p>
      <p v-if="actionError" class="form-error" data-testid="form-error" role="alert">{{ actionError.message }}</p>
      <div class="service-body">
        <figure class="chart-box">
          <LineChart :series="series" :from="now - HISTORY_MINUTES * 60" :to="now"
                     :gap-seconds="history.interval_seconds * 3" :summary="summary" data-testid="service-chart" />
          <figcaption>
            <ul class="legend">
              <li v-for="line in series" :key="line.label">
                <span class="swatch" :class="{ dashed: line.dashed }" :style="{ background: line.colour }"></span>
                {{ line.label }} <span class="muted">({{ line.axis }} axis)</span>
              </li>
            </ul>
            <p v-if="historyError" class="error">History unavailable: {{ historyError.message }}</p>
          </figcaption>
        </figure>
        <section class="events" aria-label="Latest scaling events">
          <h3>Latest scaling events</h3>
          <p v-if="eventsError" class="error">{{ eventsError.message }}</p>
          <ol v-if="events.length">
            <li v-for="event in events" :key="event.id" data-testid="scaling-event">
              <time :datetime="event.time">{{ clockTime(event.time) }}</time>
              <strong>{{ event.from_replicas }} → {{ event.to_replicas }}</strong>
              <span v-if="event.metric" class="muted">{{ event.metric }} {{ fixed(event.metric_value, 2) }} / target {{ fixed(event.target_value, 2) }}</span>
              <span class="reason">{{ event.reason }}</span>
            </li>
          </ol>
          <p v-else class="muted">No scaling yet.</p>
        </section>
        <PolicyForm v-if="service.scaling_policy" :name="service.scaling_policy" :service="service.name"
                    :shared-with="sharedWith" :editable="canEditPolicy" />
        <p v-else class="muted">No scaling policy: this pool is not autoscaled.</p>
      </div>
    </article>`,
};
