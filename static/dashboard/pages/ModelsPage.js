// #/models: the model registry, uploads, and INT8 quantization. A new model is watched until validation
// ends; a model made by quantization shows what it came from and how it measured against it.
import { computed, onBeforeUnmount, ref } from "vue";
import { api } from "../core/api.js";
import { fixed } from "../core/format.js";
import { startPoll, usePolledList } from "../core/poll.js";
import { can } from "../core/session.js";
import ListPage from "../components/ListPage.js";
import ModelUploadForm from "../components/ModelUploadForm.js";
import QuantizationJobs from "../components/QuantizationJobs.js";
import QuantizeForm from "../components/QuantizeForm.js";
import RecordsTable from "../components/RecordsTable.js";
import StatusBadge from "../components/StatusBadge.js";

const COLUMNS = ["Model", "Task", "Framework", "Labels", "Status", "Measured fps", "Derived from", "Against its parent", ""];
const SETTLED = ["ready", "failed"];

/** "1.6x faster" (or slower) from a speedup, the INT8 model's throughput over its parent's. */
export function speedupText(speedup) {
  if (speedup == null) return "";
  if (speedup >= 1) return `${fixed(speedup, speedup < 10 ? 2 : 1)}x faster`;
  return `${fixed(1 / speedup, 2)}x slower`;
}

export default {
  name: "ModelsPage",
  components: { ListPage, ModelUploadForm, QuantizationJobs, QuantizeForm, RecordsTable, StatusBadge },
  setup() {
    const { items: models, error, refresh: refreshModels } = usePolledList("/api/models/", "models");
    const quantizing = ref(null); // the model whose quantize form is open
    const jobsList = ref(null);

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

    const names = computed(() => new Map((models.value || []).map((model) => [model.id, `${model.name}:${model.version}`])));
    const canQuantize = (model) => can("models", "add") && model.status === "ready" && model.precision !== "INT8";
    function started() {
      quantizing.value = null;
      if (jobsList.value) jobsList.value.refresh();
    }

    return {
      models, error, watchValidation, fixed, can, COLUMNS, names, canQuantize, quantizing, started, jobsList,
      refreshModels, speedupText,
    };
  },
  template: `
    <ListPage title="Models" records="models" :error="error">
      <RecordsTable :columns="COLUMNS" :records="models" empty="No models yet.">
        <tr v-for="model in models || []" :key="model.id" data-testid="model-row" :data-model="model.name + ':' + model.version">
          <td>{{ model.name }}:{{ model.version }} <span v-if="model.builtin" class="muted">(built in)</span></td>
          <td>{{ model.task }}</td>
          <td>{{ model.framework }} <span data-testid="precision">{{ model.precision }}</span></td>
          <td>{{ model.labels.length }}</td>
          <td><StatusBadge :status="model.status" :message="model.status_message" />
            <div class="status-message" data-testid="status-message">{{ model.status_message }}</div></td>
          <td data-testid="measured-fps">{{ fixed(model.measured_fps) }}</td>
          <td data-testid="derived-from">
            <template v-if="model.derived_from">{{ names.get(model.derived_from) || ('#' + model.derived_from) }}
              <div v-if="model.calibration" class="muted">calibrated on {{ model.calibration.frames }}
                {{ model.calibration.source === 'images' ? 'pictures' : 'frames of ' + model.calibration.source.replace(/^stream:/, '') }}</div>
            </template>
            <span v-else-if="model.calibration" class="muted">(parent deleted)</span>
          </td>
          <td>
            <span v-if="model.speedup != null" data-testid="speedup"
                  :title="model.agreement ? fixed(model.agreement.int8_fps) + ' fps against ' + fixed(model.agreement.fp32_fps) + ' fps, same run' : ''">
              {{ speedupText(model.speedup) }}</span>
            <div v-if="model.agreement" data-testid="agreement"
                 :title="'precision ' + fixed(model.agreement.precision, 2) + ', recall ' + fixed(model.agreement.recall, 2)
                         + ', mean score shift ' + fixed(model.agreement.mean_score_shift, 3) + ', ' + model.agreement.frames + ' held-out frames'">
              F1 {{ fixed(model.agreement.f1, 2) }}
              <span class="muted">on {{ model.agreement.frames }} held-out frames</span></div>
          </td>
          <td><button v-if="canQuantize(model)" type="button" class="quiet" data-testid="quantize"
                      :aria-expanded="quantizing === model.id" @click="quantizing = quantizing === model.id ? null : model.id">Quantize…</button></td>
        </tr>
      </RecordsTable>
      <template v-for="model in models || []" :key="'quantize-' + model.id">
        <QuantizeForm v-if="quantizing === model.id" :model="model" @started="started" @close="quantizing = null" />
      </template>
      <QuantizationJobs ref="jobsList" @finished="refreshModels" />
      <ModelUploadForm v-if="can('models', 'add')" @uploaded="watchValidation" />
    </ListPage>`,
};
