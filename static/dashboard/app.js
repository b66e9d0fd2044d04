// The app: the header, then the page of the route (routes.js). Pages that need a reader send who may not
// read to #/login and, once logged in, back to the page they wanted.
import { computed, ref, watch, watchEffect } from "vue";
import AppHeader from "./components/AppHeader.js";
import { startFleetPoll, stopFleetPoll } from "./core/fleet.js";
import { reportDown, reportUp } from "./core/health.js";
import { replace, route } from "./core/router.js";
import { canRead, loadSession, session } from "./core/session.js";
import { DEFAULT_PATH } from "./routes.js";

const SESSION_RETRY_MS = 2000;

export default {
  name: "App",
  components: { AppHeader },
  setup() {
    const wanted = ref({ path: DEFAULT_PATH, query: "" }); // the page (and its query) to go back to
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
      const { name, path, query, needsReader } = route.value;
      if (needsReader && !canRead.value) {
        wanted.value = { path, query: query.toString() };
        replace("/login");
      } else if (name === "login" && session.authenticated) {
        replace(wanted.value.path, wanted.value.query);
      }
    });
    watch(canRead, (reader) => (reader ? startFleetPoll() : stopFleetPoll()), { immediate: true });
    watchEffect(() => {
      document.title = `${route.value.title} · Elastic Inference`;
    });

    const showPage = computed(() => session.loaded && (!route.value.needsReader || canRead.value));
    return {
      route, showPage, sessionError,
      rememberPage: () => {
        wanted.value = { path: route.value.path, query: route.value.query.toString() };
      },
    };
  },
  template: `
    <AppHeader @log-in="rememberPage" />
    <main>
      <p v-if="sessionError" class="error" role="alert">{{ sessionError }} Retrying…</p>
      <component v-if="showPage" :is="route.component" :key="route.path" v-bind="route.params" />
    </main>`,
};
