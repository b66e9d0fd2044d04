// #/login: username and password for a Django session.
import { ref } from "vue";
import { logIn } from "../core/session.js";
import { messagesOf } from "../components/FormErrors.js";

export default {
  name: "LoginPage",
  setup() {
    const username = ref("");
    const password = ref("");
    const error = ref("");
    const busy = ref(false);
    async function submit() {
      busy.value = true;
      error.value = "";
      try {
        await logIn(username.value, password.value);
      } catch (failure) {
        const fields = messagesOf(failure.fields);
        error.value = fields.length ? fields.join(" ") : failure.message;
        password.value = "";
      } finally {
        busy.value = false;
      }
    }
    return { username, password, error, busy, submit };
  },
  template: `
    <section class="page login-page">
      <h1>Log in</h1>
      <form class="card" @submit.prevent="submit">
        <label for="login-username">Username</label>
        <input id="login-username" v-model="username" autocomplete="username" required autofocus>
        <label for="login-password">Password</label>
        <input id="login-password" v-model="password" type="password" autocomplete="current-password" required>
        <p v-if="error" class="form-error" data-testid="login-error" role="alert">{{ error }}</p>
        <button type="submit" data-testid="login-submit" :disabled="busy">Log in</button>
      </form>
    </section>`,
};
