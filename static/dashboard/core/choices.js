// The options of the forms' select fields, as the server lists them rather than copied here: DRF answers
// OPTIONS on an endpoint with each writable field's `choices` ([{value, display_name}]) under
// `actions.POST` (a list, for who may add) or `actions.PUT` (a record, for who may change). Readers get no
// actions, so no choices. One request per endpoint and user, shared by every form that asks.
import { reactive } from "vue";
import { api } from "./api.js";
import { session } from "./session.js";

const RETRY_MS = 2000;
const answers = new Map(); // "<user> <path>" -> the reactive answer of choicesOf

function choicesIn(metadata) {
  const fields = Object.entries(metadata?.actions?.POST || metadata?.actions?.PUT || {});
  return Object.fromEntries(fields.filter(([, field]) => field.choices).map(([name, field]) => [name, field.choices]));
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

/** For a form shown to who may not write: no request, no choices (its selects show the record's values). */
export const NO_CHOICES = Object.freeze({ fields: {}, error: null });

/**
 * The choices of `path`'s fields, reactive: `{fields: {<field>: [{value, display_name}]}, error}`, with
 * `fields` empty until the server answered (and for who may not write).
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
