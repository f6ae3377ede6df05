// Joins a meeting through the SFU that serves this page (`sframe sfu`), with the camera and
// microphone: one RTCPeerConnection, WHIP-style signaling, every frame SFrame-encrypted (and
// every received frame decrypted) by sframe_wasm.wasm in the transform worker.
//
// The page is not an MLS member yet: a native member lends it its keys (`sframe join
// --lend-keys ADDR`, sframe_webrtc::KeyDelegate), and the page sends as that member's leaf.
//
// Query parameters (defaults in brackets): keys (required) the member's key document URL,
// { suite, leaf, epochs: [{ epoch, key: hex, members: [leaf] }] }, polled every 250 ms (new
// epochs are installed as they appear; the member acknowledges an epoch to the group only once
// this page has fetched it); whip [/whip] the WHIP endpoint; name [browser] the name the SFU
// shows. window.sframeMeeting: joined (a promise), stats() (the worker's counts and every
// inbound RTP stream's getStats), hangUp().
import { decryptReceiver, sendEncrypted, startWorker, whip } from './call.js';

const params = new URLSearchParams(location.search);
const whipUrl = `${params.get('whip') ?? '/whip'}?name=${encodeURIComponent(params.get('name') ?? 'browser')}`;
const keysUrl = params.get('keys');
const status = (text) => { document.getElementById('status').textContent = text; };
const { worker, rpc } = startWorker();
const ME = 'me';
let installed = -1;
let leaf = null;
let pc;
let resource = null;

async function pollKeys() {
  const response = await fetch(keysUrl, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${keysUrl}: ${response.status}`);
  const doc = await response.json();
  if (leaf === null) {
    await rpc('create', { name: ME, suite: doc.suite, leaf: doc.leaf });
    leaf = doc.leaf;
  }
  for (const { epoch, key, members } of doc.epochs.filter((e) => e.epoch > installed)) {
    await rpc('addEpoch', { name: ME, epoch, key, members });
    installed = epoch;
  }
}

// A tile per pair of receive lines: its video and, under it, frames decrypted and failed.
function tile(id, track) {
  let figure = document.getElementById(`tile-${id}`);
  if (!figure) {
    figure = document.createElement('figure');
    figure.id = `tile-${id}`;
    figure.innerHTML = '<video autoplay playsinline></video><figcaption>waiting</figcaption>';
    figure.querySelector('video').srcObject = new MediaStream();
    figure.hidden = true; // until something decrypts on it
    document.getElementById('tiles').append(figure);
  }
  figure.querySelector('video').srcObject.addTrack(track);
}

async function showCounts() {
  const { transforms } = await rpc('stats');
  for (const [name, c] of Object.entries(transforms)) {
    const [, side, kind, stream] = name.split('/');
    const caption = stream && document.querySelector(`#tile-${CSS.escape(stream)} figcaption`);
    if (side !== 'recv' || !caption) continue;
    if (c.passed > 0) caption.parentElement.hidden = false;
    const failed = Object.values(c.dropped).reduce((a, b) => a + b, 0);
    caption.dataset[kind] = `${kind}: ${c.passed} decrypted, ${failed} failed`;
    caption.textContent = [caption.dataset.video, caption.dataset.audio].filter(Boolean).join('; ');
  }
  status(`leaf ${leaf}, epoch ${installed}: sending as the lending member's leaf`);
}

async function join() {
  if (!keysUrl) throw new Error('no ?keys= URL: start a member with sframe join --lend-keys');
  await pollKeys();
  setInterval(() => pollKeys().catch((e) => status(`keys: ${e.message}`)), 250);
  const local = await navigator.mediaDevices.getUserMedia({
    audio: true, video: { width: 320, height: 240, frameRate: 30 } });
  document.getElementById('local').srcObject = local;
  pc = new RTCPeerConnection();
  sendEncrypted(pc, worker, local, ME, 'sendonly');
  // Receive lines for the others' media: the SFU gives each remote track a line of its own.
  // Their transforms are set now, before the answer creates the receive streams (Chromium 156
  // left streams it created from the answer undecrypted when the transform came in ontrack).
  // Without stream ids from the SFU, a pair of lines (video, audio) is one tile.
  for (let slot = 1; slot <= 4; slot += 1) {
    for (const kind of ['video', 'audio']) {
      const { receiver } = pc.addTransceiver(kind, { direction: 'recvonly' });
      decryptReceiver(receiver, worker, ME, kind, String(slot));
      tile(slot, receiver.track);
    }
  }
  resource = await whip(pc, whipUrl);
  status(`joined as leaf ${leaf}, epoch ${installed}`);
  setInterval(() => showCounts().catch(() => {}), 1000);
}

/** Every inbound RTP stream's counters, and the codecs. */
async function inbound() {
  const out = { streams: [], codecs: {} };
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp') {
      out.streams.push({
        kind: s.kind, mid: s.mid, ssrc: s.ssrc, packetsReceived: s.packetsReceived,
        framesReceived: s.framesReceived, framesDecoded: s.framesDecoded,
        keyFramesDecoded: s.keyFramesDecoded, framesDropped: s.framesDropped,
        pliCount: s.pliCount, totalSamplesReceived: s.totalSamplesReceived,
        concealedSamples: s.concealedSamples, decoderImplementation: s.decoderImplementation,
        codecId: s.codecId,
      });
    }
    if (s.type === 'codec') out.codecs[s.id] = s.mimeType;
    if (s.type === 'transport') {
      out.transport = { packetsReceived: s.packetsReceived, bytesReceived: s.bytesReceived,
        packetsSent: s.packetsSent, srtpCipher: s.srtpCipher, dtlsState: s.dtlsState };
    }
    if (s.type === 'candidate-pair' && s.nominated) {
      out.pair = { state: s.state, packetsReceived: s.packetsReceived, bytesReceived: s.bytesReceived,
        local: s.localCandidateId, remote: s.remoteCandidateId };
    }
    if (s.type === 'local-candidate' || s.type === 'remote-candidate') {
      (out.candidates ??= []).push({ id: s.id, type: s.type, address: s.address, port: s.port });
    }
  });
  return out;
}

async function hangUp() {
  if (resource) await fetch(new URL(resource, location.href), { method: 'DELETE' }).catch(() => {});
  pc?.close();
}

window.sframeMeeting = {
  joined: join().catch((e) => { status(`failed: ${e.message}`); throw e; }),
  stats: async () => ({ worker: await rpc('stats'), inbound: pc && await inbound(), installed, leaf }),
  hangUp,
};
