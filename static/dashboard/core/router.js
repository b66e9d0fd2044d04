// A hash router: #/live, #/live/<stream>, #/services, #/streams, #/models, #/login.
import { shallowRef } from "vue";

const PAGES = {
  live: "Live",
  services: "Services",
  streams: "Streams",
  models: "Models",
  login: "Log in",
};
export const DEFAULT_PATH = "/live";

function parse(hash) {
  const path = decodeURIComponent(hash.replace(/^#/, "")) || DEFAULT_PATH;
  const [, page, detail] = path.split("/");
  if (page === "live" && detail) return { path, name: "live-stream", stream: detail, title: `${detail} · Live` };
  if (page in PAGES && !detail) return { path, name: page, title: PAGES[page] };
  return null;
}

export const hrefOf = (path) => `#${path.split("/").map(encodeURIComponent).join("/")}`;

export function navigate(path) {
  location.hash = hrefOf(path);
}

/** Goes to `path` without leaving the current page in the history (a redirect, not a visit). */
export function replace(path) {
  location.replace(hrefOf(path));
}

export const route = shallowRef(parse(`#${DEFAULT_PATH}`));

function follow() {
  const next = parse(location.hash);
  if (next) route.value = next;
  else replace(DEFAULT_PATH); // an unknown page: the default one (its hashchange comes back here)
}
window.addEventListener("hashchange", follow);
follow();
