// #/streams: the streams with their status, and a form to register one.
import { ref } from "vue";
import { apiList } from "../core/api.js";
import { usePoll } from "../core/poll.js";
import { hrefOf } from "../core/router.js";
import { can } from "../core/session.js";
import StatusBadge from "../components/StatusBadge.js";
import StreamForm from "../components/StreamForm.js";

export default {
  name: "StreamsPage",
  components: { StatusBadge, StreamForm },
  setup() {
    const streams = ref(null);
    const { error, refresh } = usePoll(async () => {
      streams.value = await apiList("/api/streams/");
    }, 5000, "streams");
    return { streams, error, refresh, can, hrefOf };
  },
  template: `
    <section class="page">
      <h1>Streams</h1>
      <p v-if="error" class="error" role="alert">Cannot list the streams: {{ error.message }}</p>
      <div class="card table-box">
        <table>
          <thead><tr><th>Name</th><th>Kind</th><th>Source</th><th>Queues</th><th>Target fps</th><th>Status</th></tr></thead>
          <tbody>
            <tr v-for="stream in streams || []" :key="stream.name" data-testid="stream-row" :data-stream="stream.name">
              <td><a :href="hrefOf('/live/' + stream.name)">{{ stream.name }}</a></td>
              <td>{{ stream.source_kind }}</td>
              <td class="source">{{ stream.source || "–" }}</td>
              <td>{{ [stream.queue, ...stream.extra_queues].join(", ") }}</td>
              <td>{{ stream.target_fps }}</td>
              <td><StatusBadge :status="stream.status" :message="stream.status_message" />
                <span v-if="!stream.enabled" class="muted"> (disabled)</span>
                <div v-if="stream.status_message && stream.status !== 'ready'" class="status-message">{{ stream.status_message }}</div></td>
            </tr>
            <tr v-if="streams && !streams.length"><td colspan="6" class="muted">No streams yet.</td></tr>
          </tbody>
        </table>
      </div>
      <StreamForm v-if="can('streams', 'add')" @created="refresh" />
    </section>`,
};
