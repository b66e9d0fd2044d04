// One inference service: status, replicas and why it has that many (the API's `scaling`: the metric per
// replica against the target, what the rule wants, the reason), a chart of its last 10 minutes, its latest
// scaling events, enable/disable, the labels its workers report, and its scaling policy.
import { computed, ref, watch } from "vue";
import { api, apiList } from "../core/api.js";
import { clockTime, fixed, splitList } from "../core/format.js";
import { usePoll } from "../core/poll.js";
import { useSending } from "../core/sending.js";
import { can } from "../core/session.js";
import { FieldError, FormErrors } from "./FormErrors.js";
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
const LABELS = { labels: "Labels" };
const joined = (labels) => (labels || []).join(", ");

export default {
  name: "ServiceRow",
  components: { FieldError, FormErrors, LineChart, PolicyForm, StatusBadge },
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

    // The labels as typed; the polled row replaces them only while the user has not started editing.
    const labelsText = ref(joined(props.service.labels));
    const labelsEdited = ref(false);
    const labelsSaved = ref(false);
    watch(() => joined(props.service.labels), (text) => {
      if (!labelsEdited.value) labelsText.value = text;
    });
    function editLabels() {
      labelsEdited.value = true;
      labelsSaved.value = false;
    }
    const { busy: labelsBusy, error: labelsError, send: saveLabels } = useSending(async () => {
      const updated = await api(`${path}/`, { method: "PATCH", body: { labels: splitList(labelsText.value) } });
      labelsEdited.value = false;
      labelsText.value = joined(updated.labels);
      labelsSaved.value = true;
      emit("changed", updated);
    });

    return {
      history, now, events, series, summary, busy, actionError, setEnabled, clockTime, fixed, HISTORY_MINUTES,
      labelsText, labelsSaved, labelsBusy, labelsError, saveLabels, editLabels, LABELS,
      labelsShown: computed(() => joined(props.service.labels) || "model default"),
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
        <span class="muted">queue {{ service.queue }} · {{ service.model_label }} · {{ service.device }}
          · labels <span data-testid="service-labels">{{ labelsShown }}</span></span>
        <span class="spacer"></span>
        <template v-if="canToggle">
          <button v-if="service.enabled" type="button" data-testid="service-disable" :disabled="busy" @click="setEnabled(false)">Disable</button>
          <button v-else type="button" data-testid="service-enable" :disabled="busy" @click="setEnabled(true)">Enable</button>
        </template>
      </header>
      <p v-if="service.status_message && service.status !== 'ready'" class="status-message">{{ service.status_message }}</p>
      <section v-if="service.scaling" class="scaling-why" data-testid="scaling-why" aria-label="Why it scaled, or did not">
        <dl class="figures">
          <div><dt>Why</dt><dd>{{ service.scaling.metric }} per replica, target {{ fixed(service.scaling.target, 2) }}</dd></div>
          <div v-for="replica in service.scaling.per_replica" :key="replica.worker" data-testid="scaling-replica">
            <dt>{{ replica.worker }}</dt>
            <dd :title="'heartbeat at ' + clockTime(replica.updated_at)">{{ fixed(replica.value, 2) }}</dd></div>
          <div><dt>average</dt><dd data-testid="scaling-average">{{ fixed(service.scaling.average, 2) }}</dd></div>
          <div><dt>wants</dt><dd data-testid="scaling-wanted">{{ service.scaling.wanted_replicas ?? "–" }}
            ({{ service.scaling.min_replicas }}–{{ service.scaling.max_replicas }})</dd></div>
        </dl>
        <p v-if="service.scaling.reason" class="status-message" data-testid="scaling-reason">{{ service.scaling.reason }}</p>
      </section>
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
        <div class="service-settings">
          <form v-if="canToggle" class="labels-form" data-testid="labels-form" novalidate
                @submit.prevent="saveLabels" @input="editLabels">
            <FormErrors :error="labelsError" :labels="LABELS" />
            <fieldset :disabled="labelsBusy">
              <legend class="visually-hidden">Labels of {{ service.name }}</legend>
              <div class="field"><label :for="'labels-' + service.name">{{ LABELS.labels }}</label>
                <input :id="'labels-' + service.name" v-model="labelsText" autocomplete="off" placeholder="model default"
                       data-testid="labels-input" :aria-describedby="'labels-hint-' + service.name">
                <small :id="'labels-hint-' + service.name">Comma-separated names from the model's label table, e.g.
                  car, bus; empty reports the model's default selection.</small>
                <FieldError :error="labelsError" field="labels" /></div>
              <div class="actions">
                <button type="submit" data-testid="labels-save">Save labels</button>
                <span v-if="labelsSaved" class="saved" data-testid="labels-saved" role="status">Saved.</span>
              </div>
            </fieldset>
          </form>
          <PolicyForm v-if="service.scaling_policy" :name="service.scaling_policy" :service="service.name"
                      :shared-with="sharedWith" :editable="canEditPolicy" />
          <p v-else class="muted">No scaling policy: this pool is not autoscaled.</p>
        </div>
      </div>
    </article>`,
};
