// The loopback page's logic: window.sframeLoopback(config) runs a call between two
// RTCPeerConnections in this page (VP8 and Opus), the sender's transforms encrypting as
// participant "alice" (leaf 0) and the receiver's decrypting as "bob" (leaf 1), changes the
// epoch once mid-call, and returns the worker's counts and the receiver's getStats. With
// config.loseAtMs the receiver discards 3 video frames at that time (fault injection; the
// receiver's getStats just before is result.beforeLoss).
// window.sframeDecrypt(frames) decrypts frames made elsewhere as bob; window.sframeHangUp()
// ends the call (left running until then, for a screenshot).

import { receiveDecrypted, receiverStats, sendEncrypted, startWorker } from './call.js';

const { worker, rpc } = startWorker();
window.sframeRpc = rpc;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connect(pc1, pc2) {
  pc1.onicecandidate = (e) => e.candidate && pc2.addIceCandidate(e.candidate);
  pc2.onicecandidate = (e) => e.candidate && pc1.addIceCandidate(e.candidate);
  await pc1.setLocalDescription(await pc1.createOffer());
  await pc2.setRemoteDescription(pc1.localDescription);
  await pc2.setLocalDescription(await pc2.createAnswer());
  await pc1.setRemoteDescription(pc2.localDescription);
}

window.sframeLoopback = async (config) => {
  const { suite, keys, members, durationMs, epochChangeAtMs, capture, loseAtMs } = config;
  await rpc('create', { name: 'alice', suite, leaf: 0 });
  await rpc('create', { name: 'bob', suite, leaf: 1 });
  for (const name of ['alice', 'bob']) await rpc('addEpoch', { name, epoch: 1, key: keys[0], members });
  await rpc('capture', { limit: capture });
  console.log('loopback: participants keyed');

  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true, video: { width: 320, height: 240, frameRate: 30 } });
  document.getElementById('local').srcObject = stream;
  const result = {};
  const pc1 = new RTCPeerConnection();
  const pc2 = new RTCPeerConnection();
  const remote = new MediaStream();
  document.getElementById('remote').srcObject = remote;
  receiveDecrypted(pc2, worker, 'bob', (track) => remote.addTrack(track));
  sendEncrypted(pc1, worker, stream, 'alice');
  await connect(pc1, pc2);
  console.log('loopback: connected');

  const started = performance.now();
  if (loseAtMs !== undefined) {
    setTimeout(async () => {
      result.beforeLoss = await receiverStats(pc2);
      await rpc('loseNext', { count: 3 });
    }, loseAtMs);
  }
  await sleep(epochChangeAtMs);
  // Epoch 2: installed on every member first, then acknowledged; alice switches then.
  await rpc('addEpoch', { name: 'bob', epoch: 2, key: keys[1], members });
  await rpc('addEpoch', { name: 'alice', epoch: 2, key: keys[1], members });
  const beforeSwitch = await rpc('stats');
  for (const leaf of members.filter((m) => m !== 0)) {
    await rpc('acknowledge', { name: 'alice', leaf, epoch: 2 });
  }
  await sleep(Math.max(0, durationMs - (performance.now() - started)));

  Object.assign(result, {
    worker: await rpc('stats'),
    beforeSwitch,
    receiver: await receiverStats(pc2),
    captured: await rpc('captured'),
    elapsedMs: performance.now() - started,
  });
  document.getElementById('stats').textContent = JSON.stringify(result.worker, null, 1);
  window.sframeHangUp = () => {
    pc1.close();
    pc2.close();
    stream.getTracks().forEach((t) => t.stop());
  };
  return result;
};

window.sframeDecrypt = (frames) => rpc('decrypt', { name: 'bob', frames });
window.sframeBench = (args) => rpc('bench', args);
