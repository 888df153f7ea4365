import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import sodium from 'libsodium-wrappers';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';

await sodium.ready;
const kp = sodium.crypto_box_keypair();
const box = sodium.crypto_box_seal(sodium.from_string('hi'), kp.publicKey);
core.info(sodium.to_base64(box, sodium.base64_variants.ORIGINAL));
core.info(String(typeof getOctokit) + typeof IAMClient + typeof STSClient + typeof ListAccessKeysCommand + typeof retry + typeof throttling);
