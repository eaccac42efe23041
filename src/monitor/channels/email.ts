import nodemailer from 'nodemailer';
import type { Channel } from './channel.js';

/** Email over SMTP (`--smtp-url`), the text with the database versions the alerts are of. */
export const email: Channel = {
  type: 'email',
  async send(target, _secret, m, ctx) {
    if (!ctx.smtpUrl) throw new Error('no SMTP server configured (--smtp-url)');
    const transport = nodemailer.createTransport(ctx.smtpUrl);
    try {
      await transport.sendMail({
        from: ctx.smtpFrom ?? `customs@${new URL(ctx.smtpUrl).hostname}`,
        to: target,
        subject: `[customs] ${m.title}`,
        text: m.versions.length ? `${m.text}\n\nDatabase version ${m.versions.join(', ')}.\n` : `${m.text}\n`,
      });
    } finally {
      transport.close();
    }
  },
};
