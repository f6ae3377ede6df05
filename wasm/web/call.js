// What every page that calls with SFrame shares: the transform worker and its requests, SFrame
// transforms on a peer connection's senders and receivers (VP8 and Opus preferred), WHIP
// signaling (RFC 9725: POST the offer as application/sdp, the answer comes back), and
// getStats. Used by loopback.html (two peer connections in one page, the browser test) and
// meeting.html (one peer connection to an SFU).

/** The encoded-transform worker and a promise-returning request function. */
export function startWorker(url = 'worker.js') {
  const worker = new Worker(url, { type: 'module' });
  let nextId = 0;
  const pending = new Map();
  worker.onmessage = ({ data: { id, result, error } }) => {
    const p = pending.get(id);
    pending.delete(id);
    if (error !== undefined) p.reject(new Error(error)); else p.resolve(result);
  };
  // A worker that fails to load (a syntax error in a module) answers nothing: fail every
  // request instead of waiting forever.
  let failed = null;
  worker.onerror = (e) => {
    failed = new Error(`transform worker failed: ${e.message ?? 'did not load'}`);
    for (const p of pending.values()) p.reject(failed);
    pending.clear();
  };
  const rpc = (op, args = {}) => new Promise((resolve, reject) => {
    if (failed) { reject(failed); return; }
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, ...args });
  });
  return { worker, rpc };
}

/** The KID's stream value (RFC 9605 section 5.2 "context") of a track kind. */
export const CONTEXT = { audio: 0, video: 1 };

function preferCodec(transceiver, kind) {
  const mimeType = kind === 'video' ? 'video/vp8' : 'audio/opus';
  const codecs = RTCRtpReceiver.getCapabilities(kind).codecs
    .filter((c) => c.mimeType.toLowerCase() === mimeType);
  transceiver.setCodecPreferences(codecs);
}

/** Sends `stream`'s tracks on `pc`, each frame SFrame-encrypted as `participant`. */
export function sendEncrypted(pc, worker, stream, participant, direction = 'sendonly') {
  for (const track of stream.getTracks()) {
    const transceiver = pc.addTransceiver(track, { direction, streams: [stream] });
    preferCodec(transceiver, track.kind);
    transceiver.sender.transform = new RTCRtpScriptTransform(worker,
      { participant, side: 'send', kind: track.kind, context: CONTEXT[track.kind] });
  }
}

/** Decrypts what `receiver` receives as `participant`, counted under `stream`. */
export function decryptReceiver(receiver, worker, participant, kind, stream) {
  receiver.transform = new RTCRtpScriptTransform(worker,
    { participant, side: 'recv', kind, stream });
}

/** Decrypts every track `pc` receives as `participant`; `onTrack(track, streams, transceiver)`
 * shows it. The worker counts each remote stream apart under its first stream's id (else the
 * track's). */
export function receiveDecrypted(pc, worker, participant, onTrack) {
  pc.ontrack = ({ receiver, track, streams, transceiver }) => {
    const stream = streams[0]?.id ?? track.id;
    decryptReceiver(receiver, worker, participant, track.kind, stream);
    onTrack(track, streams, transceiver);
  };
}

/** WHIP-style signaling: POSTs `pc`'s offer (ICE gathered) to `url`, applies the answer. */
export async function whip(pc, url) {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.addEventListener('icegatheringstatechange',
      () => pc.iceGatheringState === 'complete' && resolve());
  });
  const response = await fetch(url, {
    method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (!response.ok) throw new Error(`WHIP ${url}: ${response.status}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  return response.headers.get('Location');
}

/** Inbound RTP statistics by kind (the last stream of each kind wins) and the codecs. */
export async function receiverStats(pc) {
  const out = { video: {}, audio: {} };
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp') {
      out[s.kind] = {
        packetsReceived: s.packetsReceived, framesReceived: s.framesReceived,
        framesDecoded: s.framesDecoded, keyFramesDecoded: s.keyFramesDecoded,
        framesDropped: s.framesDropped, pliCount: s.pliCount, firCount: s.firCount,
        totalSamplesReceived: s.totalSamplesReceived, concealedSamples: s.concealedSamples,
        decoderImplementation: s.decoderImplementation, codecId: s.codecId,
      };
    }
    if (s.type === 'codec') out[`codec ${s.id}`] = s.mimeType;
  });
  return out;
}
