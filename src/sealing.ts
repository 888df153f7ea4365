import sodium from 'libsodium-wrappers';

let ready: Promise<void> | undefined;

/**
 * Seal `value` for a GitHub public key (crypto_box_seal). GitHub sends and expects standard base64 (the ORIGINAL
 * variant); libsodium-wrappers defaults to URL-safe, which GitHub rejects.
 */
export async function seal(value: string, publicKeyBase64: string): Promise<string> {
  ready ??= sodium.ready;
  await ready;
  const key = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL);
  const box = sodium.crypto_box_seal(sodium.from_string(value), key);
  return sodium.to_base64(box, sodium.base64_variants.ORIGINAL);
}
