import { acr } from './acr.js';
import { distribution } from './distribution.js';
import { dockerhub } from './dockerhub.js';
import { github } from './github.js';
import { harbor } from './harbor.js';
import type { WebhookReceiver } from './types.js';

/** Adding a registry's webhook format: one file beside these and one entry here. */
export const receivers: WebhookReceiver[] = [distribution, harbor, dockerhub, github, acr];
