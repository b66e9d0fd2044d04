// Starts the INT8 quantization of one model: calibrated on a stream's results (JSON) or on uploaded
// pictures (multipart, with its upload progress). Emits "started" with the job the API answers.
import { onMounted, reactive, ref } from "vue";
import { api, apiList } from "../core/api.js";
import { useSending } from "../core/sending.js";
import { upload } from "../core/upload.js";
import { FieldError, FormErrors } from "./FormErrors.js";

const LABELS = { stream: "Stream", frames: "Calibration frames", images: "Pictures", model: "Model" };

export default {
  name: "QuantizeForm",
  components: { FieldError, FormErrors },
  props: { model: { type: Object, required: true } },
  emits: ["started", "close"],
  setup(props, { emit }) {
    const values = reactive({ source: "stream", stream: "", frames: 300 });
    const streams = ref([]);
    const imagesInput = ref(null);
    const progress = reactive({ loaded: 0, total: 0 });
    const id = (field) => `quantize-${props.model.id}-${field}`;

    onMounted(async () => {
      try {
        streams.value = await apiList("/api/streams/");
        if (!values.stream && streams.value.length) values.stream = streams.value[0].name;
      } catch {
        streams.value = []; // the select stays empty; sending says why
      }
    });

    const { busy, error, send: submit } = useSending(async () => {
      const path = `/api/models/${props.model.id}/quantize/`;
      let job;
      if (values.source === "stream") {
        job = await api(path, { method: "POST", body: { stream: values.stream, frames: Number(values.frames) } });
      } else {
        const form = new FormData();
        for (const file of imagesInput.value.files) form.append("images", file);
        if (values.frames !== "" && values.frames != null) form.append("frames", values.frames);
        Object.assign(progress, { loaded: 0, total: 0 });
        job = await upload(path, form, (loaded, total) => Object.assign(progress, { loaded, total }));
      }
      emit("started", job);
    });

    function useImages() {
      values.source = "images";
      values.frames = ""; // as many as the pictures give, unless asked for
    }
    return { values, streams, imagesInput, progress, busy, error, submit, useImages, id, LABELS };
  },
  template: `
    <form class="card model-form quantize-form" novalidate data-testid="quantize-form" @submit.prevent="submit">
      <h2>Quantize {{ model.name }}:{{ model.version }} to INT8</h2>
      <p class="muted">NNCF calibrates an INT8 copy on real frames, registers it as a new model and measures it
        against this one on frames held out from calibration (speed and agreement), before you switch.</p>
      <FormErrors :error="error" :labels="LABELS" />
      <fieldset :disabled="busy">
        <legend class="visually-hidden">Calibration</legend>
        <div class="field" role="radiogroup" aria-label="Calibrate on">
          <label><input type="radio" value="stream" v-model="values.source" data-testid="quantize-source-stream"> A stream's results</label>
          <label><input type="radio" value="images" :checked="values.source === 'images'" @change="useImages"
                        data-testid="quantize-source-images"> Uploaded pictures</label>
        </div>
        <div v-if="values.source === 'stream'" class="field"><label :for="id('stream')">{{ LABELS.stream }}</label>
          <select :id="id('stream')" v-model="values.stream" data-testid="quantize-stream">
            <option v-for="stream in streams" :key="stream.name" :value="stream.name">{{ stream.name }}</option>
          </select>
          <FieldError :error="error" field="stream" /></div>
        <div v-else class="field"><label :for="id('images')">{{ LABELS.images }}</label>
          <input :id="id('images')" ref="imagesInput" type="file" multiple accept="image/*" data-testid="quantize-images">
          <small>JPEG, PNG, BMP, WebP or TIFF; at least 16 (a quarter is held out to measure on).</small>
          <FieldError :error="error" field="images" /></div>
        <div class="field"><label :for="id('frames')">{{ LABELS.frames }}</label>
          <input :id="id('frames')" v-model="values.frames" type="number" min="8" max="2000" data-testid="quantize-frames"
                 :placeholder="values.source === 'images' ? 'as many as the pictures give' : ''">
          <small>8 to 2000; a further quarter (at least 8) is held out.</small>
          <FieldError :error="error" field="frames" /></div>
        <div class="actions">
          <button type="submit" data-testid="quantize-submit">Start quantization</button>
          <button type="button" class="quiet" @click="$emit('close')">Close</button>
          <progress v-if="busy && values.source === 'images'" :value="progress.loaded" :max="progress.total || 1"
                    aria-label="Upload progress"></progress>
        </div>
      </fieldset>
    </form>`,
};
