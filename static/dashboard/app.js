// The app: the header, then the page of the route. Pages other than #/login need a reader: who may not
// read is sent to #/login and, once logged in, back to the page they wanted.
import { computed, ref, watch, watchEffect } from "vue";
import AppHeader from "./components/AppHeader.js";
import { startFleetPoll, stopFleetPoll } from "./core/fleet.js";
import { reportDown, reportUp } from "./core/health.js";
import { DEFAULT_PATH, replace, route } from "./core/router.js";
import { canRead, loadSession, session } from "./core/session.js";
import LivePage from "./pages/LivePage.js";
import LoginPage from "./pages/LoginPage.js";
import ModelsPage from "./pages/ModelsPage.js";
import ServicesPage from "./pages/ServicesPage.js";
import StreamPage from "./pages/StreamPage.js";
import StreamsPage from "./pages/StreamsPage.js";

const PAGES = {
  live: LivePage,
  "live-stream": StreamPage,
  services: ServicesPage,
  streams: StreamsPage,
  models: ModelsPage,
  login: LoginPage,
};
const SESSION_RETRY_MS = 2000;

export default {
  name: "App",
  components: { AppHeader },
  setup() {
    const wanted = ref(DEFAULT_PATH);
    const sessionError = ref("");

    async function start() {
      try {
        await loadSession();
        sessionError.value = "";
        reportUp("session");
      } catch (failure) {
        sessionError.value = failure.message;
        if (failure.isOutage) reportDown("session");
        setTimeout(start, SESSION_RETRY_MS);
      }
    }
    start();

    watchEffect(() => {
      if (!session.loaded) return;
      const { name, path } = route.value;
      if (name !== "login" && !canRead.value) {
        wanted.value = path;
        replace("/login");
      } else if (name === "login" && session.authenticated) {
        replace(wanted.value);
      }
    });
    watch(canRead, (reader) => (reader ? startFleetPoll() : stopFleetPoll()), { immediate: true });
    watchEffect(() => {
      document.title = `${route.value.title} · Elastic Inference`;
    });

    const page = computed(() => PAGES[route.value.name]);
    const showPage = computed(() => session.loaded && (route.value.name === "login" || canRead.value));
    return {
      route, page, showPage, sessionError,
      rememberPage: () => {
        wanted.value = route.value.path;
      },
    };
  },
  template: `
    <AppHeader @log-in="rememberPage" />
    <main>
      <p v-if="sessionError" class="error" role="alert">{{ sessionError }} Retrying…</p>
      <component v-if="showPage" :is="page" :key="route.path" v-bind="route.name === 'live-stream' ? { stream: route.stream } : {}" />
    </main>`,
};
