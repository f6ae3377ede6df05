// The encoded-transform worker: SFrame-encrypts each RTCEncodedVideoFrame and
// RTCEncodedAudioFrame on send and decrypts on receive, whole (no clear prefix), with
// sframe_wasm.wasm. One worker serves every RTCRtpScriptTransform of a page, and one wasm
// instance holds every participant the page created.
//
// A transform's options: { participant, side: 'send' | 'recv', kind: 'audio' | 'video',
// context, stream } (context: the KID's stream value on send, 0 audio and 1 video by
// convention, video delta frames under context + 1; stream: the remote MediaStream's id on receive, so each remote participant's
// tracks are counted apart: transforms["participant/side/kind/stream"]).
// A frame that cannot be encrypted or decrypted is counted by cause and dropped; nothing is
// ever thrown into the media pipeline. A received frame whose KID names an epoch the
// participant has not installed yet waits (up to HOLD_MS, holding back the frames behind it on
// that track) for the page to install it, as a native keyring holds such frames: the page
// learns each epoch's keys a little after the members that send under it. An epoch that does
// not come within HOLD_MS is not waited for again for a while (GIVE_UP_MS). An empty frame (no payload) goes on untouched and is
// counted as such.
//
// Messages from the page: { id, op, ...args }; the reply is { id, result } or { id, error }.
//   create { name, suite, leaf, epochBits }       a participant (leaf null: receive only)
//   addEpoch { name, epoch, key: hex, members }    install an epoch (exported base key, roster)
//   acknowledge { name, leaf, epoch }              member `leaf` has `epoch`
//   stats {}                                       { participants: {name: counts}, transforms }
//   capture { limit }                              keep the first `limit` frames per send transform
//   captured {}                                    [{ participant, kind, plaintext, frame }] (hex)
//   decrypt { name, frames: [hex] }                decrypt frames made elsewhere (native code)
//   bench { suite, sizes, iterations }             ns per frame to encrypt and decrypt, by size
//   loseNext { count }                             fault injection: the next `count` received
//                                                  video frames are discarded (counted 'lost')
import { SframeWasm } from './sframe.js';

const ready = fetch(new URL('./sframe_wasm.wasm', import.meta.url))
  .then((r) => r.arrayBuffer())
  .then((bytes) => SframeWasm.load(bytes));
const participants = new Map();
// Per participant: the epochs installed (their low `epochBits` bits, as KIDs carry them), and
// who waits for the next installation.
const epochs = new Map();
const HOLD_MS = 1500;
const transforms = {};
let captureLimit = 0;
let loseVideo = 0;
const captured = [];

const toHex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (s) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

function handleOf(name) {
  const h = participants.get(name);
  if (h === undefined) throw new Error(`no participant ${name}`);
  return h;
}

const ops = {
  create(wasm, { name, suite, leaf, epochBits }) {
    participants.set(name, wasm.createParticipant(suite, leaf, epochBits ?? 4));
    epochs.set(name, { bits: epochBits ?? 4, installed: new Set(), waiting: [], gaveUp: new Map() });
  },
  addEpoch(wasm, { name, epoch, key, members }) {
    wasm.addEpoch(handleOf(name), epoch, fromHex(key), members, performance.now());
    const e = epochs.get(name);
    e.installed.add(epoch % (1 << e.bits));
    for (const wake of e.waiting.splice(0)) wake();
  },
  acknowledge(wasm, { name, leaf, epoch }) {
    wasm.acknowledge(handleOf(name), leaf, epoch, performance.now());
  },
  stats(wasm) {
    const counts = {};
    for (const [name, h] of participants) counts[name] = wasm.stats(h);
    return { participants: counts, transforms };
  },
  capture(_wasm, { limit }) { captureLimit = limit; },
  loseNext(_wasm, { count }) { loseVideo = count; },
  captured() { return captured; },
  bench(wasm, { suite, sizes, iterations }) {
    // Encrypt then decrypt `iterations` frames of each size between two fresh participants;
    // the average over the loop (performance.now() is coarse, the loop is not).
    const [a, b] = [wasm.createParticipant(suite, 0), wasm.createParticipant(suite, 1)];
    const key = new Uint8Array(16).fill(3);
    for (const h of [a, b]) wasm.addEpoch(h, 1, key, [0, 1], 0);
    const result = {};
    for (const size of sizes) {
      const plaintext = new Uint8Array(size).fill(0x5a);
      const frames = [];
      let t = performance.now();
      for (let i = 0; i < iterations; i += 1) frames.push(wasm.encrypt(a, 1, plaintext, 0).data);
      const enc = performance.now() - t;
      t = performance.now();
      for (const f of frames) if (!wasm.decrypt(b, f, 0).data) throw new Error('bench frame dropped');
      const dec = performance.now() - t;
      result[size] = { encryptNs: (enc * 1e6) / iterations, decryptNs: (dec * 1e6) / iterations };
    }
    wasm.freeParticipant(a);
    wasm.freeParticipant(b);
    return result;
  },
  decrypt(wasm, { name, frames }) {
    const h = handleOf(name);
    return frames.map((f) => {
      const r = wasm.decrypt(h, fromHex(f), performance.now());
      return r.data ? { plaintext: toHex(r.data) } : { drop: r.drop };
    });
  },
};

onmessage = async ({ data: { id, op, ...args } }) => {
  try {
    const wasm = await ready;
    const fn = ops[op];
    if (!fn) throw new Error(`unknown op ${op}`);
    postMessage({ id, result: fn(wasm, args) ?? null });
  } catch (e) {
    postMessage({ id, error: String(e?.message ?? e) });
  }
};

// The epoch bits of an SFrame frame's KID (RFC 9605 section 4.3 header; section 5.2 puts
// the epoch in the KID's low bits), or null if the header does not parse.
function kidEpoch(bytes, bits) {
  const config = bytes[0];
  if (config === undefined) return null;
  const k = (config >> 4) & 7;
  const low = config & 0x80 ? bytes[1 + k] : k; // the KID's last byte holds its low bits
  return low === undefined ? null : low & ((1 << bits) - 1);
}

// Waits until `name` has the epoch of `bytes`' KID installed, or HOLD_MS; true if it waited.
// An epoch that did not come in time is not waited for again for GIVE_UP_MS: frames of an
// epoch the page will never have (or forged KIDs) cost one wait, not one each.
const GIVE_UP_MS = 10000;
async function awaitEpoch(name, bytes) {
  const e = epochs.get(name);
  const epoch = e && kidEpoch(bytes, e.bits);
  if (epoch === null || epoch === undefined || e.installed.has(epoch)) return false;
  if (performance.now() < (e.gaveUp.get(epoch) ?? -Infinity) + GIVE_UP_MS) return false;
  const until = performance.now() + HOLD_MS;
  while (!e.installed.has(epoch) && performance.now() < until) {
    await new Promise((wake) => {
      e.waiting.push(wake);
      setTimeout(wake, until - performance.now());
    });
  }
  if (!e.installed.has(epoch)) e.gaveUp.set(epoch, performance.now());
  return true;
}

function counters(key) {
  transforms[key] ??= {
    frames: 0, passed: 0, empty: 0, held: 0, bytesIn: 0, bytesOut: 0, dropped: {}, dropSamples: [],
    captured: 0 };
  return transforms[key];
}

function drop(c, cause, frame) {
  c.dropped[cause] = (c.dropped[cause] ?? 0) + 1;
  if (frame && c.dropSamples.length < 4) {
    const bytes = new Uint8Array(frame.data);
    c.dropSamples.push({ cause, len: bytes.length, head: toHex(bytes.slice(0, 16)),
      type: frame.type ?? null, timestamp: frame.timestamp ?? null,
      metadata: JSON.stringify(frame.getMetadata?.() ?? null) });
  }
}

// One frame through the wasm module; returns true if it goes on.
function transformFrame(wasm, opts, c, frame) {
  const h = participants.get(opts.participant);
  if (h === undefined) { drop(c, 'no_participant'); return false; }
  const input = frame.data;
  if (opts.side === 'recv' && opts.kind === 'video' && loseVideo > 0) {
    loseVideo -= 1;
    drop(c, 'lost');
    return false;
  }
  if (input.byteLength === 0) {
    // Chromium hands the receive transform an empty audio frame now and then (one at the
    // start of most calls) that no send transform produced: nothing to decrypt or to leak.
    c.empty += 1;
    return true;
  }
  let r;
  if (opts.side === 'recv') {
    r = wasm.decrypt(h, new Uint8Array(input), performance.now());
  } else if (opts.kind === 'video') {
    // Key frames under the video context, delta frames under the next one, each with counters
    // whose SFrame config byte tells Chromium's VP8 depacketizer the right frame type (it
    // reads bit 0 of the first byte): without that, a key frame sent after a loss can be taken
    // for a delta frame and decoding stalls.
    const key = frame.type === 'key';
    const context = (opts.context ?? 1) + (key ? 0 : 1);
    r = wasm.encryptVp8(h, context, new Uint8Array(input), key, performance.now());
  } else {
    r = wasm.encrypt(h, opts.context ?? 0, new Uint8Array(input), performance.now());
  }
  if (!r.data) { drop(c, r.drop, frame); return false; }
  if (opts.side === 'send' && c.captured < captureLimit) {
    c.captured += 1;
    captured.push({ participant: opts.participant, kind: opts.kind,
      type: frame.type ?? 'audio', plaintext: toHex(input), frame: toHex(r.data) });
  }
  c.bytesIn += input.byteLength;
  c.bytesOut += r.data.byteLength;
  frame.data = r.data;
  return true;
}

onrtctransform = ({ transformer }) => {
  const opts = transformer.options;
  const tag = opts.stream ? `/${opts.stream}` : '';
  const c = counters(`${opts.participant}/${opts.side}/${opts.kind}${tag}`);
  const stream = new TransformStream({
    async transform(frame, controller) {
      c.frames += 1;
      try {
        const wasm = await ready;
        if (opts.side === 'recv' && frame.data.byteLength > 0
          && await awaitEpoch(opts.participant, new Uint8Array(frame.data))) {
          c.held += 1;
        }
        if (transformFrame(wasm, opts, c, frame)) {
          c.passed += 1;
          controller.enqueue(frame);
        }
      } catch (e) {
        drop(c, 'exception');
      }
    },
  });
  transformer.readable.pipeThrough(stream).pipeTo(transformer.writable);
};
