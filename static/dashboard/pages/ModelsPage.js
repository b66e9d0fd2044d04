// #/models: the model registry, and uploads. A new model is watched until validation ends.
import { onBeforeUnmount, ref } from "vue";
import { api, apiList } from "../core/api.js";
import { fixed } from "../core/format.js";
import { startPoll, usePoll } from "../core/poll.js";
import { can } from "../core/session.js";
import ModelUploadForm from "../components/ModelUploadForm.js";
import StatusBadge from "../components/StatusBadge.js";

const SETTLED = ["ready", "failed"];

export default {
  name: "ModelsPage",
  components: { ModelUploadForm, StatusBadge },
  setup() {
    const models = ref(null);
    const { error } = usePoll(async () => {
      models.value = await apiList("/api/models/");
    }, 5000, "models");

    function show(model) {
      const others = (models.value || []).filter((known) => known.id !== model.id);
      models.value = [...others, model].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
    }

    const validations = new Set();
    function watchValidation(model) {
      show(model);
      const validation = startPoll(async () => {
        const latest = await api(`/api/models/${model.id}/`);
        show(latest);
        if (SETTLED.includes(latest.status)) {
          validation.stop();
          validations.delete(validation);
        }
      }, 1000, `model:${model.id}`);
      validations.add(validation);
    }
    onBeforeUnmount(() => validations.forEach((validation) => validation.stop()));

    return { models, error, watchValidation, fixed, can };
  },
  template: `
    <section class="page">
      <h1>Models</h1>
      <p v-if="error" class="error" role="alert">Cannot list the models: {{ error.message }}</p>
      <div class="card table-box">
        <table>
          <thead><tr><th>Model</th><th>Task</th><th>Framework</th><th>Labels</th><th>Status</th><th>Measured fps</th></tr></thead>
          <tbody>
            <tr v-for="model in models || []" :key="model.id" data-testid="model-row" :data-model="model.name + ':' + model.version">
              <td>{{ model.name }}:{{ model.version }} <span v-if="model.builtin" class="muted">(built in)</span></td>
              <td>{{ model.task }}</td>
              <td>{{ model.framework }} {{ model.precision }}</td>
              <td>{{ model.labels.length }}</td>
              <td><StatusBadge :status="model.status" :message="model.status_message" />
                <div class="status-message" data-testid="status-message">{{ model.status_message }}</div></td>
              <td data-testid="measured-fps">{{ fixed(model.measured_fps) }}</td>
            </tr>
            <tr v-if="models && !models.length"><td colspan="6" class="muted">No models yet.</td></tr>
          </tbody>
        </table>
      </div>
      <ModelUploadForm v-if="can('models', 'add')" @uploaded="watchValidation" />
    </section>`,
};
