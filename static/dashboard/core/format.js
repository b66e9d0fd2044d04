// How figures read on screen.

export const fixed = (value, digits = 1) => (value == null || Number.isNaN(value) ? "–" : value.toFixed(digits));

export const millis = (seconds) => (seconds == null ? "–" : `${Math.round(seconds * 1000)} ms`);

export const clockTime = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "");

/** Comma-separated names as a list, without blanks. */
export const splitList = (text) => text.split(",").map((part) => part.trim()).filter(Boolean);
