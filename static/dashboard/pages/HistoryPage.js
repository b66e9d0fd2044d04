// #/history: what the analytics stage saw. The filters live in the URL's query (#/history?label=car&...), so
// a view can be shared and a reload restores it; the table follows the API's cursor ("Load more"), the
// chart counts per label for the chosen stream, and the export links download exactly these filters.
import { computed, reactive, ref, watch } from "vue";
import { api, apiList } from "../core/api.js";
import { fixed } from "../core/format.js";
import { navigate, route } from "../core/router.js";
import HistoryChart from "../components/HistoryChart.js";
import ListPage from "../components/ListPage.js";
import RecordsTable from "../components/RecordsTable.js";

const FILTERS = ["stream", "label", "since", "until", "min_score"];
const COLUMNS = ["Snapshot", "Label", "Track", "Stream", "First seen", "Last seen", "Frames", "Best score"];
const DAY = 86400;
// The counts' bucket for a window: at most some 720 points a line.
const BUCKETS = [["minute", 60, DAY / 2], ["hour", 3600, 14 * DAY], ["day", DAY, Infinity]];

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
// <input type="datetime-local"> speaks local time without a zone; the URL and the API speak ISO 8601.
const toLocalInput = (iso) => {
  if (!iso || Number.isNaN(Date.parse(iso))) return "";
  const moment = new Date(iso);
  return new Date(moment.getTime() - moment.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};
const fromLocalInput = (text) => (text ? new Date(text).toISOString() : "");
// The object's box on its snapshot (the picture is stored as received, the box drawn here).
const percent = (value) => `${(100 * value).toFixed(2)}%`;
const boxStyle = ([x0, y0, x1, y1]) => ({ left: percent(x0), top: percent(y0), width: percent(x1 - x0), height: percent(y1 - y0) });

/** The filters the URL's query holds, as the API takes them (empty ones left out). */
function filtersOf(query) {
  return Object.fromEntries(FILTERS.filter((key) => query.get(key)).map((key) => [key, query.get(key)]));
}

export default {
  name: "HistoryPage",
  components: { HistoryChart, ListPage, RecordsTable },
  setup() {
    const filters = computed(() => filtersOf(route.value.query));
    const search = computed(() => new URLSearchParams(filters.value).toString());
    const form = reactive({ stream: "", label: "", since: "", until: "", min_score: "" });
    const events = ref(null);
    const next = ref(null);
    const error = ref(null);
    const loadingMore = ref(false);
    const streams = ref([]);
    const counts = ref([]);
    const countsError = ref(null);
    const chartWindow = ref({ from: 0, to: 0, bucket: "minute", seconds: 60 });

    apiList("/api/streams/").then((rows) => { streams.value = rows.map((row) => row.name); }, () => {});

    let reading = 0; // answers to an older query than the latest are dropped
    async function loadEvents() {
      const mine = ++reading;
      error.value = null;
      try {
        const page = await api(`/api/events/?${search.value}`);
        if (mine !== reading) return;
        events.value = page.results;
        next.value = page.next;
      } catch (failure) {
        if (mine !== reading) return;
        events.value = [];
        next.value = null;
        error.value = failure;
      }
    }

    async function loadMore() {
      loadingMore.value = true;
      try {
        const page = await api(next.value);
        events.value = [...events.value, ...page.results];
        next.value = page.next;
      } catch (failure) {
        error.value = failure;
      } finally {
        loadingMore.value = false;
      }
    }

    async function loadCounts() {
      counts.value = [];
      countsError.value = null;
      const { stream, label, since, until } = filters.value;
      if (!stream) return;
      const to = until ? Date.parse(until) / 1000 : Date.now() / 1000;
      const from = since ? Date.parse(since) / 1000 : to - DAY;
      const [bucket, seconds] = BUCKETS.find(([, , longest]) => to - from <= longest);
      chartWindow.value = { from, to, bucket, seconds };
      const query = new URLSearchParams({
        bucket, since: new Date(from * 1000).toISOString(), until: new Date(to * 1000).toISOString(), ...(label ? { label } : {}),
      });
      try {
        counts.value = await api(`/api/streams/${encodeURIComponent(stream)}/counts/?${query}`);
      } catch (failure) {
        countsError.value = failure;
      }
    }

    function load() {
      loadEvents();
      loadCounts();
    }
    watch(search, () => {
      const shown = filters.value;
      Object.assign(form, {
        stream: shown.stream || "", label: shown.label || "", min_score: shown.min_score || "",
        since: toLocalInput(shown.since), until: toLocalInput(shown.until),
      });
      load();
    }, { immediate: true });

    function apply() {
      const wanted = {
        stream: form.stream.trim(), label: form.label.trim(), min_score: String(form.min_score ?? "").trim(),
        since: fromLocalInput(form.since), until: fromLocalInput(form.until),
      };
      const query = new URLSearchParams(FILTERS.filter((key) => wanted[key]).map((key) => [key, wanted[key]]));
      if (query.toString() === search.value) load(); // the same filters: read them again
      else navigate("/history", query);
    }

    const exportHref = (format) => `/api/events/export/?${new URLSearchParams({ format, ...filters.value })}`;
    const fieldErrors = computed(() => (error.value && error.value.fields) || {});
    return {
      COLUMNS, form, events, next, error, fieldErrors, loadingMore, loadMore, streams, counts, countsError, chartWindow,
      filters, apply, clear: () => navigate("/history"), exportHref, when, fixed, boxStyle,
    };
  },
  template: `
    <ListPage title="History" records="events" :error="error && !Object.keys(fieldErrors).length ? error : null">
      <form class="card history-filters" data-testid="history-filters" novalidate @submit.prevent="apply">
        <div class="field"><label for="history-stream">Stream</label>
          <input id="history-stream" v-model="form.stream" list="history-streams" autocomplete="off">
          <datalist id="history-streams"><option v-for="name in streams" :key="name" :value="name"></option></datalist>
          <p v-for="message in fieldErrors.stream || []" class="field-error">{{ message }}</p></div>
        <div class="field"><label for="history-label">Label</label>
          <input id="history-label" v-model="form.label" autocomplete="off" placeholder="person, car, …">
          <p v-for="message in fieldErrors.label || []" class="field-error">{{ message }}</p></div>
        <div class="field"><label for="history-since">Since</label>
          <input id="history-since" v-model="form.since" type="datetime-local">
          <p v-for="message in fieldErrors.since || []" class="field-error">{{ message }}</p></div>
        <div class="field"><label for="history-until">Until</label>
          <input id="history-until" v-model="form.until" type="datetime-local">
          <p v-for="message in fieldErrors.until || []" class="field-error">{{ message }}</p></div>
        <div class="field"><label for="history-min-score">Min score</label>
          <input id="history-min-score" v-model="form.min_score" type="number" min="0" max="1" step="0.05" placeholder="0–1">
          <p v-for="message in fieldErrors.min_score || []" class="field-error">{{ message }}</p></div>
        <div class="actions">
          <button type="submit" data-testid="history-apply">Apply</button>
          <button type="button" class="quiet" data-testid="history-clear" @click="clear">Clear</button>
          <span class="spacer"></span>
          <a class="button-link" :href="exportHref('csv')" download data-testid="history-export-csv">Export CSV</a>
          <a class="button-link" :href="exportHref('ndjson')" download data-testid="history-export-ndjson">Export NDJSON</a>
        </div>
      </form>
      <section class="card" aria-label="Counts over time">
        <h2>Objects per {{ chartWindow.bucket }}<span v-if="filters.stream"> on {{ filters.stream }}</span></h2>
        <p v-if="!filters.stream" class="muted" data-testid="history-chart-hint">Choose a stream to see its counts per label over time.</p>
        <template v-else>
          <p v-if="countsError" class="error">Counts unavailable: {{ countsError.message }}</p>
          <HistoryChart :counts="counts" :from="chartWindow.from" :to="chartWindow.to" :bucket-seconds="chartWindow.seconds" />
        </template>
      </section>
      <RecordsTable :columns="COLUMNS" :records="events" empty="No events match these filters.">
        <tr v-for="event in events || []" :key="event.id" data-testid="history-row" :data-event="event.id">
          <td class="thumb"><span v-if="event.snapshot_url" class="thumb-frame">
              <img :src="event.snapshot_url" loading="lazy" width="96" height="72" :alt="event.label + ' #' + event.track"
                   data-testid="history-thumb"><span class="thumb-box" :style="boxStyle(event.best_box)"></span></span>
            <span v-else class="muted">–</span></td>
          <td data-testid="history-label-cell">{{ event.label }}</td>
          <td>#{{ event.track }}</td>
          <td><a :href="event.stream_url">{{ event.stream }}</a></td>
          <td><time :datetime="event.first_seen">{{ when(event.first_seen) }}</time></td>
          <td><time :datetime="event.last_seen">{{ when(event.last_seen) }}</time></td>
          <td>{{ event.frames }}</td>
          <td>{{ fixed(event.best_score, 2) }}</td>
        </tr>
      </RecordsTable>
      <button v-if="next" type="button" data-testid="history-more" :disabled="loadingMore" @click="loadMore">Load more</button>
    </ListPage>`,
};
