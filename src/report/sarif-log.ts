import { VERSION } from '../version.js';

/** The SARIF 2.1.0 envelope every Customs report shares: one run, Customs as the driver. */
export function sarifLog(
  rules: object[],
  results: object[],
  automationId: string,
  run: Record<string, unknown> = {},
): object {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'Customs', version: VERSION, semanticVersion: VERSION, rules } },
        automationDetails: { id: automationId },
        ...run,
        results,
      },
    ],
  };
}
