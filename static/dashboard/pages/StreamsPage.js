// #/streams: the streams with their status, and a form to register one.
import { usePolledList } from "../core/poll.js";
import { hrefOf } from "../core/router.js";
import { can } from "../core/session.js";
import ListPage from "../components/ListPage.js";
import RecordsTable from "../components/RecordsTable.js";
import StatusBadge from "../components/StatusBadge.js";
import StreamForm from "../components/StreamForm.js";

const COLUMNS = ["Name", "Kind", "Source", "Queues", "Target fps", "Status"];

export default {
  name: "StreamsPage",
  components: { ListPage, RecordsTable, StatusBadge, StreamForm },
  setup() {
    const { items: streams, error, refresh } = usePolledList("/api/streams/", "streams");
    return { streams, error, refresh, can, hrefOf, COLUMNS };
  },
  template: `
    <ListPage title="Streams" records="streams" :error="error">
      <RecordsTable :columns="COLUMNS" :records="streams" empty="No streams yet.">
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
      </RecordsTable>
      <StreamForm v-if="can('streams', 'add')" @created="refresh" />
    </ListPage>`,
};
