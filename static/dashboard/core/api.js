// The API client: the session cookie and CSRF token for writes, JSON in and out, and the project's
// one error shape ({"error": {status, code, message, fields}}) turned into an ApiError.

let onUnauthorized = () => {};

class ApiError extends Error {
  constructor({ status, code, message, fields = {} }) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** The server or something behind it (Redis) is away, as opposed to a refusal of this request. */
  get isOutage() {
    return this.status === 0 || this.status >= 500;
  }
}

/** Called with no arguments when the server answers 401: the session ended or never began. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** For refusals that come another way than an HTTP answer (a websocket closed with 4401). */
export function reportUnauthorized() {
  onUnauthorized();
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

export function writeHeaders(method) {
  return ["GET", "HEAD"].includes(method) ? {} : { "X-CSRFToken": csrfToken() };
}

/** An ApiError from a failed response's status and parsed body (or null when it had none). */
export function errorFrom(status, body) {
  if (status === 401) reportUnauthorized();
  const error = body && body.error;
  if (error && typeof error === "object") {
    return new ApiError({ status, code: error.code, message: error.message || `Error ${status}`, fields: error.fields });
  }
  return new ApiError({ status, code: "error", message: `The server answered ${status}.` });
}

export const networkError = () =>
  new ApiError({ status: 0, code: "network", message: "The server cannot be reached." });

/** `api(path)` reads; `api(path, {method, body})` writes a JSON body. Resolves to the parsed body. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json", ...writeHeaders(method) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw networkError();
  }
  const parsed = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw errorFrom(response.status, parsed);
  return parsed;
}

/** Every item of a paginated list (one request up to the API's largest page). */
export async function apiList(path, params = {}) {
  const query = new URLSearchParams({ page_size: "500", ...params });
  return (await api(`${path}?${query}`)).results;
}
