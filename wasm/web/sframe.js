// The JavaScript side of sframe_wasm.wasm: copies bytes in and out of the module's buffer and
// names the codes its functions return. Works in a page, a worker and Node (ES module).
//
// Every call writes its input at the buffer's input offset (after sframe_reserve, which may
// move the buffer), calls, and reads the output at sframe_output_offset. Frame calls never
// throw: they return { data } or { drop: cause }. Setup calls (participants, epochs) throw an
// Error naming the code.

export const DROP_CAUSES = [
  'no_send_epoch', 'malformed', 'authentication_failed', 'replay', 'unknown_epoch',
  'unknown_sender', 'other',
];
const ERRORS = { '-100': 'unknown suite', '-101': 'no such participant', '-102': 'bad input',
  '-103': 'the keyring refused', '-104': 'the SFrame core refused' };

export class SframeWasm {
  /** Instantiates the module from its bytes (an ArrayBuffer or typed array). */
  static async load(bytes) {
    const { instance } = await WebAssembly.instantiate(bytes, {});
    return new SframeWasm(instance.exports);
  }

  constructor(exports) {
    this.x = exports;
    this.inputOffset = exports.sframe_input_offset();
  }

  #input(bytes) {
    const ptr = this.x.sframe_reserve(bytes.length);
    new Uint8Array(this.x.memory.buffer, ptr + this.inputOffset, bytes.length).set(bytes);
  }

  #output(n) {
    const start = this.x.sframe_io_ptr() + this.x.sframe_output_offset();
    return this.x.memory.buffer.slice(start, start + n); // a fresh ArrayBuffer
  }

  #check(code, what) {
    if (code < 0) throw new Error(`${what}: ${ERRORS[code] ?? `code ${code}`}`);
    return code;
  }

  /** A participant at leaf `leaf` (null: receive only); returns its handle. */
  createParticipant(suite, leaf, epochBits = 4) {
    const l = leaf === null || leaf === undefined ? -1n : BigInt(leaf);
    return this.#check(this.x.sframe_participant_new(suite, l, epochBits), 'createParticipant');
  }

  freeParticipant(handle) { return this.x.sframe_participant_free(handle) === 1; }

  /** Installs an epoch: its exported base key and the members' leaf indices. */
  addEpoch(handle, epoch, baseKey, members, nowMs) {
    const input = new Uint8Array(baseKey.length + 4 * members.length);
    input.set(baseKey);
    const view = new DataView(input.buffer);
    members.forEach((m, i) => view.setUint32(baseKey.length + 4 * i, m, true));
    this.#input(input);
    this.#check(this.x.sframe_add_epoch(handle, nowMs, BigInt(epoch), baseKey.length,
      members.length), 'addEpoch');
  }

  acknowledge(handle, leaf, epoch, nowMs) {
    this.#check(this.x.sframe_acknowledge(handle, nowMs, leaf, BigInt(epoch)), 'acknowledge');
  }

  #frame(code) {
    if (code >= 0) return { data: this.#output(code) };
    const cause = DROP_CAUSES[-1 - code];
    return { drop: cause ?? (ERRORS[code] ?? `code ${code}`) };
  }

  /** Encrypts a whole frame for stream `context`: { data: ArrayBuffer } or { drop }. */
  encrypt(handle, context, bytes, nowMs) {
    const input = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.#input(input);
    return this.#frame(this.x.sframe_encrypt(handle, nowMs, BigInt(context), input.length));
  }

  /** As encrypt, for a VP8 frame (`key`: a key frame): its counter makes the SFrame config
   * byte's bit 0 match the frame type, which Chromium's VP8 depacketizer reads there. */
  encryptVp8(handle, context, bytes, key, nowMs) {
    const input = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.#input(input);
    return this.#frame(this.x.sframe_encrypt_vp8(handle, nowMs, BigInt(context), key ? 1 : 0,
      input.length));
  }

  /** Decrypts a whole frame: { data: ArrayBuffer } or { drop }. */
  decrypt(handle, bytes, nowMs) {
    const input = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.#input(input);
    return this.#frame(this.x.sframe_decrypt(handle, nowMs, input.length));
  }

  /** The participant's counts (see ParticipantStats::to_json in the crate). */
  stats(handle) {
    const n = this.#check(this.x.sframe_stats(handle), 'stats');
    return JSON.parse(new TextDecoder().decode(this.#output(n)));
  }

  /** Known-answer encryption with the SFrame core alone. */
  vectorEncrypt(suite, kid, ctr, key, metadata, plaintext) {
    this.#input(concat(key, metadata, plaintext));
    const n = this.#check(this.x.sframe_vector_encrypt(suite, BigInt(kid), BigInt(ctr),
      key.length, metadata.length, plaintext.length), 'vectorEncrypt');
    return new Uint8Array(this.#output(n));
  }

  /** Known-answer decryption. */
  vectorDecrypt(suite, kid, key, metadata, frame) {
    this.#input(concat(key, metadata, frame));
    const n = this.#check(this.x.sframe_vector_decrypt(suite, BigInt(kid), key.length,
      metadata.length, frame.length), 'vectorDecrypt');
    return new Uint8Array(this.#output(n));
  }
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
