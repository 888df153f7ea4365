type Sodium = typeof import('libsodium-wrappers').default;

let loading: Promise<Sodium> | undefined;

/** libsodium (and its WebAssembly) loads on the first seal, after the key is verified: not at start-up. */
function load(): Promise<Sodium> {
  loading ??= import('libsodium-wrappers').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return loading;
}

/**
 * Seal `value` for a GitHub public key (crypto_box_seal). GitHub sends and expects standard base64 (the ORIGINAL
 * variant); libsodium-wrappers defaults to URL-safe, which GitHub rejects.
 */
export async function seal(value: string, publicKeyBase64: string): Promise<string> {
  const sodium = await load();
  const key = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL);
  const box = sodium.crypto_box_seal(sodium.from_string(value), key);
  return sodium.to_base64(box, sodium.base64_variants.ORIGINAL);
}
