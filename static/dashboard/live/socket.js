// A stream's websocket that comes back on its own: after a close or an error it reconnects after
// 1, 2, 4 ... at most 10 s, except when the server refused it on purpose (then it says why).

const REFUSALS = {
  4400: "The server did not understand this page's request.",
  4401: "Not signed in.",
  4403: "The server refused this page's origin.",
  4404: "No such stream.",
};
const MAX_DELAY_MS = 10000;

export class ResultSocket {
  /** `onState(state, why)`: "connecting", "open", "reconnecting" (why: when), "refused" (why: the reason). */
  constructor(url, { onMessage, onState }) {
    this.url = url;
    this.onMessage = onMessage;
    this.onState = onState;
    this.delay = 1000;
    this.timer = null;
    this.closed = false;
    this.connect();
  }

  connect() {
    this.onState("connecting");
    const socket = new WebSocket(this.url);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", () => {
      this.delay = 1000;
      this.onState("open");
    });
    // A result comes as an ArrayBuffer, a tracks message as a string (message.js).
    socket.addEventListener("message", (event) => this.onMessage(event.data));
    // An error is always followed by a close, so the close alone decides what comes next.
    socket.addEventListener("close", (event) => this.closedWith(event.code));
    this.socket = socket;
  }

  closedWith(code) {
    if (this.closed) return;
    if (code in REFUSALS) {
      this.onState("refused", REFUSALS[code], code);
      return;
    }
    this.onState("reconnecting", `Reconnecting in ${this.delay / 1000} s.`);
    this.timer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    // Closing a socket that is still connecting makes the browser log an error; close it once open.
    if (this.socket.readyState === WebSocket.CONNECTING) this.socket.addEventListener("open", () => this.socket.close());
    else this.socket.close();
  }
}
