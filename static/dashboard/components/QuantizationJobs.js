// The quantization jobs, newest first: state, a progress bar, what each is doing or why it failed, and
// Cancel. Read every second while a job runs, every 5 s otherwise; `refresh()` reads at once (a job was
// started). Emits "finished" with a job that has just ended, so the page can show the model it made.
import { computed, ref } from "vue";
import { api, apiList } from "../core/api.js";
import { usePoll } from "../core/poll.js";
import { useSending } from "../core/sending.js";
import { can } from "../core/session.js";
import RecordsTable from "./RecordsTable.js";

const ACTIVE = ["queued", "collecting", "quantizing", "validating", "measuring"];
const COLUMNS = ["Job", "Model", "Calibration", "State", "Progress", "", ""];
const IDLE_MS = 5000;

export default {
  name: "QuantizationJobs",
  components: { RecordsTable },
  emits: ["finished"],
  setup(props, { emit, expose }) {
    const jobs = ref(null);
    let lastRead = 0;
    const running = computed(() => (jobs.value || []).some((job) => ACTIVE.includes(job.state)));

    async function read() {
      const previous = new Map((jobs.value || []).map((job) => [job.id, job.state]));
      jobs.value = await apiList("/api/quantizations/", { page_size: "20" });
      lastRead = Date.now();
      for (const job of jobs.value) {
        if (ACTIVE.includes(previous.get(job.id)) && !ACTIVE.includes(job.state)) emit("finished", job);
      }
    }
    const poll = usePoll(async () => {
      if (running.value || Date.now() - lastRead >= IDLE_MS) await read();
    }, 1000, "quantizations");

    function refresh() {
      lastRead = 0;
      poll.refresh();
    }
    expose({ refresh });

    const { busy, error: cancelError, send: cancel } = useSending(async (job) => {
      await api(`/api/quantizations/${job.id}/cancel/`, { method: "POST" });
      refresh();
    });

    const calibration = (job) => `${job.source === "images" ? "pictures" : job.stream} · ${job.frame_count} + ${job.holdout} held out`;
    return {
      jobs, busy, cancel, cancelError, calibration, error: poll.error, ACTIVE, COLUMNS,
      canCancel: computed(() => can("models", "add")),
    };
  },
  template: `
    <section class="quantizations" v-if="jobs && jobs.length" aria-labelledby="quantizations-title">
      <h2 id="quantizations-title">Quantizations</h2>
      <p v-if="error" class="error" role="alert">Cannot list the quantizations: {{ error.message }}</p>
      <p v-if="cancelError" class="form-error" role="alert">{{ cancelError.message }}</p>
      <RecordsTable :columns="COLUMNS" :records="jobs" empty="No quantizations yet.">
        <tr v-for="job in jobs" :key="job.id" data-testid="quantization-row" :data-job="job.id" :data-state="job.state">
          <td>#{{ job.id }}</td>
          <td>{{ job.model_name }}<span v-if="job.result_name"> → <strong>{{ job.result_name }}</strong></span></td>
          <td>{{ calibration(job) }}</td>
          <td><span class="status" :class="'status-' + (job.state === 'done' ? 'ready' : job.state === 'failed' ? 'failed' : 'pending')"
                    data-testid="quantization-state">{{ job.state }}</span></td>
          <td><progress :value="job.progress" max="1" data-testid="quantization-progress"
                        :aria-label="'Progress of quantization ' + job.id"></progress>
            <span class="muted"> {{ Math.round(job.progress * 100) }}%</span></td>
          <td class="status-message" :class="{ error: job.state === 'failed' }" data-testid="quantization-message">{{ job.message }}</td>
          <td><button v-if="canCancel && ACTIVE.includes(job.state)" type="button" class="quiet"
                      data-testid="quantization-cancel" :disabled="busy || job.cancel_requested" @click="cancel(job)">
                {{ job.cancel_requested ? "Cancelling" : "Cancel" }}</button></td>
        </tr>
      </RecordsTable>
    </section>`,
};
