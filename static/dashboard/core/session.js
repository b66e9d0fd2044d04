// Who is using the dashboard: the Django session as /api/auth/me/ describes it.
import { computed, reactive } from "vue";
import { api, setUnauthorizedHandler } from "./api.js";

const nobody = { username: "", authenticated: false, anonymous_read: false, permissions: {} };

export const session = reactive({ loaded: false, ...nobody });

function adopt(me) {
  Object.assign(session, nobody, me, { loaded: true });
}

export const canRead = computed(() => session.authenticated || session.anonymous_read);

/** Whether the user may `action` ("add", "change", "delete") the records of `kind` ("streams", ...). */
export function can(kind, action) {
  return Boolean(session.permissions[kind] && session.permissions[kind][action]);
}

/** Whether the user may do nothing of what /api/auth/me/ lists (for every kind of record, every action). */
export const readOnly = computed(() =>
  Object.values(session.permissions).every((actions) => !Object.values(actions).some(Boolean)),
);

export async function loadSession() {
  adopt(await api("/api/auth/me/"));
}

export async function logIn(username, password) {
  adopt(await api("/api/auth/login/", { method: "POST", body: { username, password } }));
}

export async function logOut() {
  await api("/api/auth/logout/", { method: "POST" });
  await loadSession();
}

// A 401 anywhere means the session ended: learn what is left (anonymous reading, perhaps). One
// reload at a time, so a burst of 401s (or a 401 from /me itself) asks once.
let reloading = null;
setUnauthorizedHandler(() => {
  reloading ||= loadSession().catch(() => {}).finally(() => { reloading = null; });
});
