// The scaling policy of a service, editable by who may change policies. A policy may be shared by
// several services; the form says so, since saving changes all of them.
import { computed, reactive, ref, watch } from "vue";
import { api } from "../core/api.js";
import { choicesOf } from "../core/choices.js";
import { useSending } from "../core/sending.js";
import ChoiceSelect from "./ChoiceSelect.js";
import { FieldError, FormErrors } from "./FormErrors.js";

const FIELDS = ["min_replicas", "max_replicas", "metric", "target_value", "scale_up_window_seconds", "scale_down_window_seconds"];
const LABELS = {
  min_replicas: "Min replicas", max_replicas: "Max replicas", metric: "Metric", target_value: "Target per replica",
  scale_up_window_seconds: "Scale-up window (s)", scale_down_window_seconds: "Scale-down window (s)",
};

export default {
  name: "PolicyForm",
  components: { ChoiceSelect, FieldError, FormErrors },
  props: {
    name: { type: String, required: true },
    service: { type: String, required: true }, // the row it is shown in: ids must be unique on the page
    sharedWith: { type: Array, default: () => [] }, // the other services using this policy
    editable: { type: Boolean, default: false },
  },
  setup(props) {
    const path = computed(() => `/api/policies/${encodeURIComponent(props.name)}/`);
    const values = reactive({});
    const loaded = ref(false);
    const saved = ref(false);
    const { busy, error, send: save } = useSending(async () => {
      saved.value = false;
      const body = Object.fromEntries(FIELDS.map((field) => [field, values[field]]));
      Object.assign(values, await api(path.value, { method: "PATCH", body }));
      saved.value = true;
    });

    async function load() {
      loaded.value = false;
      try {
        Object.assign(values, await api(path.value));
        loaded.value = true;
        error.value = null;
      } catch (failure) {
        error.value = failure;
      }
    }
    watch(() => props.name, load, { immediate: true });

    const id = (field) => `policy-${field}-${props.service}`;
    return {
      values, loaded, error, saved, busy, save, id, LABELS, edited: () => (saved.value = false),
      // A record's OPTIONS: the choices for who may change it; readers are given none.
      choices: computed(() => choicesOf(path.value)),
    };
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
          <ChoiceSelect :id="id('metric')" v-model="values.metric" :choices="choices" field="metric" data-testid="policy-metric" />
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
