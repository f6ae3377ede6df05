// The RFC 9605 test vectors (and the WG's AES-256-CTR-HMAC ones) through the wasm build,
// under Node: every frame vector encrypted and decrypted, a tampered frame refused, and every
// header vector's encoding produced by the encryptor.
// Usage: node vectors.mjs sframe_wasm.wasm test-vectors/vectors
// Ends with "vectors: N passed, N failed"; exit status 1 on any failure.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SframeWasm } from '../web/sframe.js';

const [wasmPath, dir] = process.argv.slice(2);
const wasm = await SframeWasm.load(readFileSync(wasmPath));

// KIDs and counters reach 2^64 - 1: read them as strings, not as doubles.
const load = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8')
  .replace(/"(kid|ctr)":\s*(\d+)/g, '"$1": "$2"'));
const hex = (s) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (a) => Buffer.from(a).toString('hex');

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed += 1;
  else { failed += 1; console.log(`FAIL ${name} ${detail}`); }
}

const rfc = load('test-vectors.json');
const frames = [...rfc.sframe, ...load('test-vectors-aes256.json').sframe_aes_256_ctr_hmac];
for (const v of frames) {
  const name = `suite ${v.cipher_suite} kid ${v.kid} ctr ${v.ctr}`;
  const [key, meta, pt, ct] = [hex(v.base_key), hex(v.metadata), hex(v.pt), hex(v.ct)];
  try {
    const got = wasm.vectorEncrypt(v.cipher_suite, v.kid, v.ctr, key, meta, pt);
    check(`encrypt ${name}`, toHex(got) === v.ct, toHex(got));
    const back = wasm.vectorDecrypt(v.cipher_suite, v.kid, key, meta, ct);
    check(`decrypt ${name}`, toHex(back) === v.pt, toHex(back));
    const bad = ct.slice();
    bad[bad.length - 1] ^= 1;
    let refused = false;
    try { wasm.vectorDecrypt(v.cipher_suite, v.kid, key, meta, bad); } catch { refused = true; }
    check(`tampered ${name}`, refused);
  } catch (e) {
    check(name, false, e.message);
  }
}

const key = new Uint8Array(16).fill(7);
for (const h of rfc.header) {
  try {
    const frame = wasm.vectorEncrypt(4, h.kid, h.ctr, key, new Uint8Array(), new Uint8Array());
    check(`header kid ${h.kid} ctr ${h.ctr}`, toHex(frame).startsWith(h.encoded)
      && frame.length === h.encoded.length / 2 + 16, toHex(frame));
  } catch (e) {
    check(`header kid ${h.kid} ctr ${h.ctr}`, false, e.message);
  }
}

console.log(`vectors: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
