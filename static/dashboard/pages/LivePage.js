// #/live: a tile per stream, each with its live picture; a click opens the stream large.
import { usePolledList } from "../core/poll.js";
import { hrefOf, navigate } from "../core/router.js";
import ListPage from "../components/ListPage.js";
import StatusBadge from "../components/StatusBadge.js";
import StreamView from "../components/StreamView.js";

export default {
  name: "LivePage",
  components: { ListPage, StatusBadge, StreamView },
  setup() {
    const { items: streams, error } = usePolledList("/api/streams/", "live-streams");
    return { streams, error, hrefOf, open: (name) => navigate(`/live/${name}`) };
  },
  template: `
    <ListPage title="Live" records="streams" :error="error">
      <p v-if="streams && !streams.length">No streams yet. <a href="#/streams">Register one</a> to watch it here.</p>
      <div class="tile-grid">
        <StreamView v-for="stream in streams || []" :key="stream.name" :stream="stream.name" picture="preview"
                    class="tile" data-testid="stream-tile" @click="open(stream.name)">
          <header class="tile-header">
            <a :href="hrefOf('/live/' + stream.name)" @click.stop>{{ stream.name }}</a>
            <StatusBadge :status="stream.status" :message="stream.status_message" />
          </header>
        </StreamView>
      </div>
    </ListPage>`,
};
