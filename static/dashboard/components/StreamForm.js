// Registers a stream: a camera, a video file, an RTSP/HTTP URL, or an external producer.
import { computed, reactive, ref } from "vue";
import { api } from "../core/api.js";
import { choicesOf } from "../core/choices.js";
import { splitList } from "../core/format.js";
import { useSending } from "../core/sending.js";
import ChoiceSelect from "./ChoiceSelect.js";
import { FieldError, FormErrors } from "./FormErrors.js";

// What to type as the source, by source kind (the kinds themselves come from the server).
const HINTS = {
  camera: "Device index on the server, e.g. 0 or /dev/video0.",
  file: "Path of a video file on the server, e.g. /data/street.mp4 (played in a loop).",
  url: "An rtsp://, rtsps://, http:// or https:// address.",
  external: "No source: a producer run elsewhere pushes the frames.",
};
const LABELS = {
  name: "Name", source_kind: "Kind", source: "Source", queue: "Queue", extra_queues: "Extra queues", target_fps: "Target fps",
};
const blank = () => ({ name: "", source_kind: "camera", source: "", queue: "people", extra_queues: "", target_fps: 15 });

export default {
  name: "StreamForm",
  components: { ChoiceSelect, FieldError, FormErrors },
  emits: ["created"],
  setup(props, { emit }) {
    const values = reactive(blank());
    const done = ref("");
    const external = computed(() => values.source_kind === "external");

    const { busy, error, send } = useSending(async () => {
      const body = {
        ...values, source: external.value ? "" : values.source.trim(), extra_queues: splitList(values.extra_queues), enabled: true,
      };
      const stream = await api("/api/streams/", { method: "POST", body });
      done.value = `Stream ${stream.name} registered.`;
      Object.assign(values, blank());
      emit("created", stream);
    });
    function submit() {
      done.value = "";
      send();
    }
    return { values, error, done, busy, external, submit, choices: choicesOf("/api/streams/"), HINTS, LABELS };
  },
  template: `
    <form class="card stream-form" data-testid="stream-form" novalidate @submit.prevent="submit">
      <h2>Register a stream</h2>
      <FormErrors :error="error" :labels="LABELS" />
      <fieldset :disabled="busy">
        <legend class="visually-hidden">New stream</legend>
        <div class="field"><label for="stream-name">{{ LABELS.name }}</label>
          <input id="stream-name" v-model.trim="values.name" autocomplete="off" aria-describedby="stream-name-hint">
          <small id="stream-name-hint">Letters, digits, _ . - (at most 64).</small>
          <FieldError :error="error" field="name" /></div>
        <div class="field"><label for="stream-kind">{{ LABELS.source_kind }}</label>
          <ChoiceSelect id="stream-kind" v-model="values.source_kind" :choices="choices" field="source_kind" />
          <FieldError :error="error" field="source_kind" /></div>
        <div class="field"><label for="stream-source">{{ LABELS.source }}</label>
          <input id="stream-source" v-model="values.source" :disabled="external" autocomplete="off"
                 :placeholder="external ? 'none' : ''" aria-describedby="stream-source-hint">
          <small id="stream-source-hint">{{ HINTS[values.source_kind] }}</small>
          <FieldError :error="error" field="source" /></div>
        <div class="field"><label for="stream-queue">{{ LABELS.queue }}</label>
          <input id="stream-queue" v-model.trim="values.queue" autocomplete="off" aria-describedby="stream-queue-hint">
          <small id="stream-queue-hint">The inference type the frames go to, e.g. people or face.</small>
          <FieldError :error="error" field="queue" /></div>
        <div class="field"><label for="stream-extra-queues">{{ LABELS.extra_queues }}</label>
          <input id="stream-extra-queues" v-model="values.extra_queues" autocomplete="off" aria-describedby="stream-extra-hint">
          <small id="stream-extra-hint">Optional, comma-separated: further queues fed the same frames.</small>
          <FieldError :error="error" field="extra_queues" /></div>
        <div class="field"><label for="stream-fps">{{ LABELS.target_fps }}</label>
          <input id="stream-fps" v-model.number="values.target_fps" type="number" min="1" max="120">
          <FieldError :error="error" field="target_fps" /></div>
        <div class="actions">
          <button type="submit" data-testid="stream-submit">Register stream</button>
          <span v-if="done" class="saved" data-testid="form-saved" role="status">{{ done }}</span>
        </div>
      </fieldset>
    </form>`,
};
