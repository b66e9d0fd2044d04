// Multipart uploads with progress: XMLHttpRequest reports upload progress, fetch does not.
import { errorFrom, networkError, writeHeaders } from "./api.js";

/** POSTs `form` (a FormData); `onProgress(loaded, total)` as it goes. Resolves to the parsed body. */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.responseType = "json";
    request.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(writeHeaders("POST"))) request.setRequestHeader(name, value);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) resolve(request.response);
      else reject(errorFrom(request.status, request.response));
    });
    request.addEventListener("error", () => reject(networkError()));
    request.send(form);
  });
}
