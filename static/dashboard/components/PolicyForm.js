// The scaling policy of a service, editable by who may change policies. A policy may be shared by
// several services; the form says so, since saving changes all of them.
import { reactive, ref, watch } from "vue";
import { api } from "../core/api.js";
import { FieldError, FormErrors } from "./FormErrors.js";

const METRICS = [
  ["scale_ratio", "Scale ratio (workers needed per worker)"],
  ["drop_fps", "Dropped frames per second per replica"],
  ["infer_fps", "Inferred frames per second per replica"],
  ["cpu", "CPU utilisation (%)"],
];
const FIELDS = ["min_replicas", "max_replicas", "metric", "target_value", "scale_up_window_seconds", "scale_down_window_seconds"];
const LABELS = {
  min_replicas: "Min replicas", max_replicas: "Max replicas", metric: "Metric", target_value: "Target per replica",
  scale_up_window_seconds: "Scale-up window (s)", scale_down_window_seconds: "Scale-down window (s)",
};

export default {
  name: "PolicyForm",
  components: { FieldError, FormErrors },
  props: {
    name: { type: String, required: true },
    service: { type: String, required: true }, // the row it is shown in: ids must be unique on the page
    sharedWith: { type: Array, default: () => [] }, // the other services using this policy
    editable: { type: Boolean, default: false },
  },
  setup(props) {
    const values = reactive({});
    const loaded = ref(false);
    const error = ref(null);
    const saved = ref(false);
    const busy = ref(false);

    async function load() {
      loaded.value = false;
      try {
        Object.assign(values, await api(`/api/policies/${encodeURIComponent(props.name)}/`));
        loaded.value = true;
        error.value = null;
      } catch (failure) {
        error.value = failure;
      }
    }
    watch(() => props.name, load, { immediate: true });

    async function save() {
      busy.value = true;
      error.value = null;
      saved.value = false;
      const body = Object.fromEntries(FIELDS.map((field) => [field, values[field]]));
      try {
        Object.assign(values, await api(`/api/policies/${encodeURIComponent(props.name)}/`, { method: "PATCH", body }));
        saved.value = true;
      } catch (failure) {
        error.value = failure;
      } finally {
        busy.value = false;
      }
    }
    const id = (field) => `policy-${field}-${props.service}`;
    return { values, loaded, error, saved, busy, save, id, METRICS, LABELS, edited: () => (saved.value = false) };
  },
  template: `
    <form class="policy-form" novalidate @submit.prevent="save" @input="edited">
      <h3>Scaling policy <q>{{ name }}</q></h3>
      <p v-if="sharedWith.length" class="note">Shared with {{ sharedWith.join(", ") }}: a change applies to them too.</p>
      <FormErrors :error="error" :labels="LABELS" />
      <fieldset v-if="loaded" :disabled="!editable || busy">
        <legend class="visually-hidden">Policy {{ name }}</legend>
        <div class="field"><label :for="id('min')">{{ LABELS.min_replicas }}</label>
          <input :id="id('min')" v-model.number="values.min_replicas" type="number" min="1" max="100" data-testid="policy-min" required>
          <FieldError :error="error" field="min_replicas" /></div>
        <div class="field"><label :for="id('max')">{{ LABELS.max_replicas }}</label>
          <input :id="id('max')" v-model.number="values.max_replicas" type="number" min="1" max="100" data-testid="policy-max" required>
          <FieldError :error="error" field="max_replicas" /></div>
        <div class="field wide"><label :for="id('metric')">{{ LABELS.metric }}</label>
          <select :id="id('metric')" v-model="values.metric" data-testid="policy-metric">
            <option v-for="[value, label] in METRICS" :key="value" :value="value">{{ label }}</option>
          </select>
          <FieldError :error="error" field="metric" /></div>
        <div class="field"><label :for="id('target')">{{ LABELS.target_value }}</label>
          <input :id="id('target')" v-model.number="values.target_value" type="number" step="any" min="0.01" data-testid="policy-target" required>
          <FieldError :error="error" field="target_value" /></div>
        <div class="field"><label :for="id('up')">{{ LABELS.scale_up_window_seconds }}</label>
          <input :id="id('up')" v-model.number="values.scale_up_window_seconds" type="number" min="0" max="3600" data-testid="policy-up-window">
          <FieldError :error="error" field="scale_up_window_seconds" /></div>
        <div class="field"><label :for="id('down')">{{ LABELS.scale_down_window_seconds }}</label>
          <input :id="id('down')" v-model.number="values.scale_down_window_seconds" type="number" min="0" max="3600" data-testid="policy-down-window">
          <FieldError :error="error" field="scale_down_window_seconds" /></div>
        <div v-if="editable" class="actions">
          <button type="submit" data-testid="policy-save">Save policy</button>
          <span v-if="saved" class="saved" data-testid="policy-saved" role="status">Saved.</span>
        </div>
      </fieldset>
    </form>`,
};
