// #/live/<stream>: one stream, large.
import StreamView from "../components/StreamView.js";

export default {
  name: "StreamPage",
  components: { StreamView },
  props: { stream: { type: String, required: true } },
  template: `
    <section class="page">
      <p><a href="#/live">← All streams</a></p>
      <h1>{{ stream }}</h1>
      <StreamView :stream="stream" class="large" data-testid="stream-large" />
    </section>`,
};
