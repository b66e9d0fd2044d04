// The header: pages, the connection indicator, who is logged in, and the read-only banner.
import { ref } from "vue";
import { connection } from "../core/health.js";
import { hrefOf, isCurrent, route } from "../core/router.js";
import { canRead, logOut, readOnly, session } from "../core/session.js";
import { DEFAULT_PATH, ROUTES } from "../routes.js";

const NAV = ROUTES.filter((entry) => entry.nav);

export default {
  name: "AppHeader",
  emits: ["log-in"],
  setup(props, { emit }) {
    const logOutError = ref("");
    async function logOutNow() {
      logOutError.value = "";
      try {
        await logOut();
      } catch (failure) {
        logOutError.value = `Could not log out: ${failure.message}`;
      }
    }
    return {
      NAV, DEFAULT_PATH, connection, route, session, canRead, readOnly, hrefOf, isCurrent, logOutError,
      logOut: logOutNow,
      logIn: () => emit("log-in"),
    };
  },
  template: `
    <header class="app-header">
      <a class="brand" :href="hrefOf(DEFAULT_PATH)">Elastic Inference</a>
      <nav v-if="canRead" aria-label="Pages">
        <a v-for="entry in NAV" :key="entry.name" :href="hrefOf(entry.path)" :data-testid="'nav-' + entry.name"
           :aria-current="isCurrent(entry.path) ? 'page' : null">{{ entry.title }}</a>
      </nav>
      <span class="spacer"></span>
      <span class="connection" :class="connection" data-testid="connection" role="status"
            :title="connection === 'live' ? 'The server answers' : 'The server or Redis is away; retrying'">{{ connection }}</span>
      <template v-if="session.authenticated">
        <span class="user" data-testid="current-user">{{ session.username }}</span>
        <button type="button" class="quiet" data-testid="logout" @click="logOut">Log out</button>
        <span v-if="logOutError" class="error" role="alert">{{ logOutError }}</span>
      </template>
      <a v-else-if="route.name !== 'login'" href="#/login" data-testid="login-link" @click="logIn">Log in</a>
    </header>
    <p v-if="canRead && readOnly" class="read-only-banner" data-testid="read-only-banner" role="note">
      Read-only: {{ session.authenticated ? "your account may look but not change anything." : "log in to make changes." }}
    </p>`,
};
