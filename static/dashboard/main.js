// Entry point of the dashboard (loaded by controlplane/dashboard/templates/dashboard/index.html).
import { createApp } from "vue";
import App from "./app.js";
import { startRouter } from "./core/router.js";
import { DEFAULT_PATH, ROUTES } from "./routes.js";

startRouter(ROUTES, DEFAULT_PATH);
createApp(App).mount("#app");
