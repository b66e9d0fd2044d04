// Uploads a model (an OpenVINO IR .xml with its .bin, or .onnx, .tflite, .pb) with a progress bar.
import { reactive, ref } from "vue";
import { choicesOf } from "../core/choices.js";
import { useSending } from "../core/sending.js";
import { upload } from "../core/upload.js";
import ChoiceSelect from "./ChoiceSelect.js";
import { FieldError, FormErrors } from "./FormErrors.js";

const LABELS = {
  name: "Name", version: "Version", file: "Model file", weights: "Weights (.bin)", labels: "Labels", task: "Task",
  output_family: "Output family",
};
const blank = () => ({ name: "", version: "1", labels: "", task: "detection", output_family: "auto" });

export default {
  name: "ModelUploadForm",
  components: { ChoiceSelect, FieldError, FormErrors },
  emits: ["uploaded"],
  setup(props, { emit }) {
    const values = reactive(blank());
    const fileInput = ref(null);
    const weightsInput = ref(null);
    const progress = reactive({ loaded: 0, total: 0 });

    const { busy: uploading, error, send: submit } = useSending(async () => {
      const form = new FormData();
      for (const [field, value] of Object.entries(values)) if (value !== "") form.append(field, value);
      if (fileInput.value.files[0]) form.append("file", fileInput.value.files[0]);
      if (weightsInput.value.files[0]) form.append("weights", weightsInput.value.files[0]);
      Object.assign(progress, { loaded: 0, total: 0 });
      const model = await upload("/api/models/", form, (loaded, total) => Object.assign(progress, { loaded, total }));
      Object.assign(values, blank());
      fileInput.value.value = "";
      weightsInput.value.value = "";
      emit("uploaded", model);
    });
    return { values, fileInput, weightsInput, error, uploading, progress, submit, choices: choicesOf("/api/models/"), LABELS };
  },
  template: `
    <form class="card model-form" novalidate @submit.prevent="submit">
      <h2>Upload a model</h2>
      <FormErrors :error="error" :labels="LABELS" />
      <fieldset :disabled="uploading">
        <legend class="visually-hidden">New model</legend>
        <div class="field"><label for="model-name">{{ LABELS.name }}</label>
          <input id="model-name" v-model.trim="values.name" autocomplete="off">
          <FieldError :error="error" field="name" /></div>
        <div class="field"><label for="model-version">{{ LABELS.version }}</label>
          <input id="model-version" v-model.trim="values.version" autocomplete="off">
          <FieldError :error="error" field="version" /></div>
        <div class="field"><label for="model-file">{{ LABELS.file }}</label>
          <input id="model-file" ref="fileInput" type="file" accept=".xml,.onnx,.tflite,.pb" aria-describedby="model-file-hint">
          <small id="model-file-hint">OpenVINO IR .xml (with its .bin below), .onnx, .tflite or a frozen .pb.</small>
          <FieldError :error="error" field="file" /></div>
        <div class="field"><label for="model-weights">{{ LABELS.weights }}</label>
          <input id="model-weights" ref="weightsInput" type="file" accept=".bin">
          <FieldError :error="error" field="weights" /></div>
        <div class="field"><label for="model-labels">{{ LABELS.labels }}</label>
          <input id="model-labels" v-model="values.labels" autocomplete="off" aria-describedby="model-labels-hint">
          <small id="model-labels-hint">Comma-separated, by class id, e.g. background,person.</small>
          <FieldError :error="error" field="labels" /></div>
        <div class="field"><label for="model-task">{{ LABELS.task }}</label>
          <input id="model-task" v-model.trim="values.task" autocomplete="off">
          <FieldError :error="error" field="task" /></div>
        <div class="field"><label for="model-output-family">{{ LABELS.output_family }}</label>
          <ChoiceSelect id="model-output-family" v-model="values.output_family" :choices="choices" field="output_family" />
          <FieldError :error="error" field="output_family" /></div>
        <div class="actions">
          <button type="submit" data-testid="model-submit">Upload model</button>
          <progress v-if="uploading" data-testid="upload-progress" :value="progress.loaded"
                    :max="progress.total || 1" aria-label="Upload progress"></progress>
        </div>
      </fieldset>
    </form>`,
};
