// A stream's websocket messages. A result is binary: [4-byte big-endian length N][N bytes JSON meta][JPEG
// bytes]. The track numbers of a result's detections come as text: {"kind": "tracks", queue, seq, tracks}.

const utf8 = new TextDecoder();

/** `{meta, jpeg}` from a message's ArrayBuffer; throws on one that is cut short or not JSON. */
export function parseResult(buffer) {
  const length = new DataView(buffer).getUint32(0, false);
  if (4 + length > buffer.byteLength) throw new RangeError("result message shorter than its header says");
  const meta = JSON.parse(utf8.decode(new Uint8Array(buffer, 4, length)));
  return { meta, jpeg: new Uint8Array(buffer, 4 + length) };
}

/** `{queue, seq, tracks}` from a text message; throws on one that is not a tracks message. */
export function parseTracks(text) {
  const { kind, queue, seq, tracks } = JSON.parse(text);
  if (kind !== "tracks" || !Array.isArray(tracks)) throw new TypeError("not a tracks message");
  return { queue, seq, tracks };
}
