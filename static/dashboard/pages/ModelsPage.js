// #/models: the model registry, and uploads. A new model is watched until validation ends.
import { onBeforeUnmount } from "vue";
import { api } from "../core/api.js";
import { fixed } from "../core/format.js";
import { startPoll, usePolledList } from "../core/poll.js";
import { can } from "../core/session.js";
import ListPage from "../components/ListPage.js";
import ModelUploadForm from "../components/ModelUploadForm.js";
import RecordsTable from "../components/RecordsTable.js";
import StatusBadge from "../components/StatusBadge.js";

const COLUMNS = ["Model", "Task", "Framework", "Labels", "Status", "Measured fps"];
const SETTLED = ["ready", "failed"];

export default {
  name: "ModelsPage",
  components: { ListPage, ModelUploadForm, RecordsTable, StatusBadge },
  setup() {
    const { items: models, error } = usePolledList("/api/models/", "models");

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

    return { models, error, watchValidation, fixed, can, COLUMNS };
  },
  template: `
    <ListPage title="Models" records="models" :error="error">
      <RecordsTable :columns="COLUMNS" :records="models" empty="No models yet.">
        <tr v-for="model in models || []" :key="model.id" data-testid="model-row" :data-model="model.name + ':' + model.version">
          <td>{{ model.name }}:{{ model.version }} <span v-if="model.builtin" class="muted">(built in)</span></td>
          <td>{{ model.task }}</td>
          <td>{{ model.framework }} {{ model.precision }}</td>
          <td>{{ model.labels.length }}</td>
          <td><StatusBadge :status="model.status" :message="model.status_message" />
            <div class="status-message" data-testid="status-message">{{ model.status_message }}</div></td>
          <td data-testid="measured-fps">{{ fixed(model.measured_fps) }}</td>
        </tr>
      </RecordsTable>
      <ModelUploadForm v-if="can('models', 'add')" @uploaded="watchValidation" />
    </ListPage>`,
};
