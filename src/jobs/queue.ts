// The queue interface is a shared type (services queue jobs, jobs/ runs them): src/model/jobs.ts.
export { jobKey, type Job, type JobQueue, type QueueDepth } from '../model/jobs.js';
