// A hash router over the route table (../routes.js), which main.js hands to `startRouter`: #/live,
// #/live/<stream>, and so on. `route` is the matched table entry with the URL's `path`, the `params` its
// ":name" segments matched (the page's props), the `title` for those params, and the `query` after a "?"
// (URLSearchParams: a page's state that a shared link or a reload restores).
import { shallowRef } from "vue";

let routes = [];
let defaultPath = "/";

export const route = shallowRef(null);

/** The values of `pattern`'s ":name" segments in `path`, or null when `path` is not one of its paths. */
function match(pattern, path) {
  const wanted = pattern.split("/");
  const given = path.split("/");
  if (wanted.length !== given.length) return null;
  const params = {};
  for (const [index, part] of wanted.entries()) {
    if (part.startsWith(":") && given[index]) params[part.slice(1)] = given[index];
    else if (part !== given[index]) return null;
  }
  return params;
}

function parse(hash) {
  const [pathPart, search = ""] = hash.replace(/^#/, "").split(/\?(.*)/s, 2); // #/history?label=car
  const path = decodeURIComponent(pathPart) || defaultPath;
  const trimmed = path.length > 1 ? path.replace(/\/$/, "") : path; // #/models/ is #/models
  for (const entry of routes) {
    const params = match(entry.path, trimmed);
    if (params) {
      const title = typeof entry.title === "function" ? entry.title(params) : entry.title;
      return { ...entry, path, params, title, query: new URLSearchParams(search) };
    }
  }
  return null;
}

export const hrefOf = (path) => `#${path.split("/").map(encodeURIComponent).join("/")}`;

/** Whether the current page is `path` or one below it (#/live/<stream> is under #/live). */
export const isCurrent = (path) => route.value.path === path || route.value.path.startsWith(`${path}/`);

const hashOf = (path, query) => {
  const search = new URLSearchParams(query).toString();
  return search ? `${hrefOf(path)}?${search}` : hrefOf(path);
};

/** Goes to `path`, with `query` (URLSearchParams, or an object of strings) after a "?" when not empty. */
export function navigate(path, query = "") {
  location.hash = hashOf(path, query);
}

/** Goes to `path` (and `query`) without leaving the current page in the history (a redirect, not a visit). */
export function replace(path, query = "") {
  location.replace(hashOf(path, query));
}

function follow() {
  const next = parse(location.hash);
  if (next) route.value = next;
  else replace(defaultPath); // an unknown page: the default one (its hashchange comes back here)
}

/** Follows the URL from now on, over `table`; an empty or unknown one goes to `fallback`. */
export function startRouter(table, fallback) {
  routes = table;
  defaultPath = fallback;
  route.value = parse(`#${fallback}`);
  window.addEventListener("hashchange", follow);
  follow();
}
