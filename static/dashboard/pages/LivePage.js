// #/live: a tile per stream, each with its live picture; a click opens the stream large.
import { ref } from "vue";
import { apiList } from "../core/api.js";
import { usePoll } from "../core/poll.js";
import { hrefOf, navigate } from "../core/router.js";
import StatusBadge from "../components/StatusBadge.js";
import StreamView from "../components/StreamView.js";

export default {
  name: "LivePage",
  components: { StatusBadge, StreamView },
  setup() {
    const streams = ref(null);
    const { error } = usePoll(async () => {
      streams.value = await apiList("/api/streams/");
    }, 5000, "live-streams");
    return { streams, error, hrefOf, open: (name) => navigate(`/live/${name}`) };
  },
  template: `
    <section class="page">
      <h1>Live</h1>
      <p v-if="error" class="error" role="alert">Cannot list the streams: {{ error.message }}</p>
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
    </section>`,
};
