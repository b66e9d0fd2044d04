// Entry point of the dashboard (loaded by controlplane/dashboard/templates/dashboard/index.html).
import { createApp } from "vue";
import App from "./app.js";

createApp(App).mount("#app");
