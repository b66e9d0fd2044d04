// The options of the forms' select fields, as the server lists them rather than copied here: OPTIONS on an
// endpoint answers every reader with `choices`, each choice field's [{value, display_name}]
// (controlplane/core/metadata.py), so a read-only form labels its values too. One request per endpoint and
// user, shared by every form that asks.
import { reactive } from "vue";
import { api } from "./api.js";
import { session } from "./session.js";

const RETRY_MS = 2000;
const answers = new Map(); // "<user> <path>" -> the reactive answer of choicesOf

function choicesIn(metadata) {
  return metadata?.choices || {};
}

async function ask(path, answer) {
  try {
    answer.fields = choicesIn(await api(path, { method: "OPTIONS" }));
    answer.error = null;
  } catch (failure) {
    answer.error = failure;
    if (failure.isOutage) setTimeout(() => ask(path, answer), RETRY_MS); // the form fills once the server is back
  }
}

/**
 * The choices of `path`'s fields, reactive: `{fields: {<field>: [{value, display_name}]}, error}`, with
 * `fields` empty until the server answered.
 */
export function choicesOf(path) {
  const key = `${session.username} ${path}`;
  if (!answers.has(key)) {
    const answer = reactive({ fields: {}, error: null });
    answers.set(key, answer);
    ask(path, answer);
  }
  return answers.get(key);
}
