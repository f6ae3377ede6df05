// Joins a meeting through an SFU with the camera and microphone: one RTCPeerConnection,
// WHIP-style signaling, every frame SFrame-encrypted (and every received frame decrypted) by
// sframe_wasm.wasm in the transform worker. The SFrame keys of each MLS epoch come from the
// page's server (a native MLS member plays that part for now). Not tested yet: it needs the
// native SFU (`sframe sfu`); the loopback test runs the same call.js and worker.
//
// Query parameters (defaults in brackets): whip [/whip] the WHIP endpoint; keys [/keys] a
// JSON document { suite, leaf, epochs: [{ epoch, key: hex, members: [leaf] }] }, polled every
// 500 ms (new epochs are installed as they appear; the sender switches to a new epoch after
// the keyring's grace, 500 ms). window.sframeMeeting.stats() returns the worker's counts and the receiver statistics.
import { receiveDecrypted, receiverStats, sendEncrypted, startWorker, whip } from './call.js';

const params = new URLSearchParams(location.search);
const whipUrl = params.get('whip') ?? '/whip';
const keysUrl = params.get('keys') ?? '/keys';
const status = (text) => { document.getElementById('status').textContent = text; };
const { worker, rpc } = startWorker();
const ME = 'me';
let installed = -1;
let leaf = null;
let pc;

async function pollKeys() {
  const doc = await (await fetch(keysUrl, { cache: 'no-store' })).json();
  if (installed < 0) {
    await rpc('create', { name: ME, suite: doc.suite, leaf: doc.leaf });
    leaf = doc.leaf;
  }
  for (const { epoch, key, members } of doc.epochs.filter((e) => e.epoch > installed)) {
    await rpc('addEpoch', { name: ME, epoch, key, members });
    installed = epoch;
  }
}

function tile(stream) {
  let figure = document.getElementById(`tile-${stream.id}`);
  if (!figure) {
    figure = document.createElement('figure');
    figure.id = `tile-${stream.id}`;
    figure.innerHTML = '<video autoplay playsinline></video><figcaption></figcaption>';
    figure.querySelector('video').srcObject = stream;
    document.getElementById('tiles').append(figure);
  }
}

async function showCounts() {
  const { transforms } = await rpc('stats');
  for (const [name, c] of Object.entries(transforms)) {
    const [, side, kind, stream] = name.split('/');
    const caption = stream && document.querySelector(`#tile-${CSS.escape(stream)} figcaption`);
    if (side !== 'recv' || !caption) continue;
    const failed = Object.values(c.dropped).reduce((a, b) => a + b, 0);
    caption.dataset[kind] = `${kind}: ${c.passed} decrypted, ${failed} failed`;
    caption.textContent = [caption.dataset.video, caption.dataset.audio].filter(Boolean).join('; ');
  }
}

async function join() {
  await pollKeys();
  setInterval(() => pollKeys().catch((e) => status(`keys: ${e.message}`)), 500);
  const local = await navigator.mediaDevices.getUserMedia({
    audio: true, video: { width: 640, height: 480, frameRate: 30 } });
  document.getElementById('local').srcObject = local;
  pc = new RTCPeerConnection();
  sendEncrypted(pc, worker, local, ME, 'sendonly');
  // Receive slots for the others' media; the SFU adds tracks to them.
  for (let i = 0; i < 4; i += 1) {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }
  receiveDecrypted(pc, worker, ME, (track, streams) => streams[0] && tile(streams[0]));
  await whip(pc, whipUrl);
  status(`joined as leaf ${leaf}, epoch ${installed}`);
  setInterval(() => showCounts().catch(() => {}), 1000);
}

window.sframeMeeting = {
  joined: join().catch((e) => { status(`failed: ${e.message}`); throw e; }),
  stats: async () => ({ worker: await rpc('stats'), receiver: pc && await receiverStats(pc) }),
};
