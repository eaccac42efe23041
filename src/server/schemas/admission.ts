import { OpenObject } from './common.js';

/** An admission.k8s.io/v1 AdmissionReview, in and out (the Kubernetes API server's shape). */
export const AdmissionReview = OpenObject;
