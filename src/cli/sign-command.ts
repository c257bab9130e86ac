// `planasonix sign`: prints a curl command that delivers a payload to a trigger with a valid
// signature, for testing a webhook by hand or from a script. The command goes to stdout alone (so
// `eval "$(planasonix sign ...)"` works); notes go to stderr.
import { COMMON_FLAGS, clientFrom, namespaceFrom, requireFlag, runCommand, stringFlag } from './cli-args.ts';
import { SIGNING_FLAGS, SIGNING_FLAGS_HELP, loadTriggerCredentials, readPayload, renderCurl, signDelivery } from './trigger-credentials.ts';

const USAGE = `Usage: planasonix sign --trigger NAME [-n NAMESPACE] --data FILE|- [flags]

Prints a curl command that POSTs the payload to the trigger's URL, signed with the trigger's scheme
and secret (read through your kubeconfig). The signature is valid for the trigger's tolerance
(5m unless spec.auth.tolerance says otherwise) and covers exactly the bytes of the payload.

Flags:
${SIGNING_FLAGS_HELP}

Example:
  planasonix sign --trigger export-completed -n data --data payload.json
  curl -sS -X POST 'https://hooks.example.com/hooks/…' -H 'content-type: application/json' \\
    -H 'x-planasonix-signature: t=1767225600,v1=5c0f…' --data-binary @payload.json
`;

export const SIGN_FLAGS = { ...COMMON_FLAGS, ...SIGNING_FLAGS } as const;

export async function signCommand(argv: readonly string[]): Promise<number> {
  return runCommand('sign', argv, { flags: SIGN_FLAGS, usage: USAGE }, async (values) => {
    const name = requireFlag(values, 'trigger');
    const data = requireFlag(values, 'data');
    const client = clientFrom(values);
    const namespace = namespaceFrom(values, client);
    const body = readPayload(data);
    const creds = await loadTriggerCredentials(client, namespace, name, stringFlag(values, 'url-override'));
    const request = signDelivery(creds, body, values);
    const kubeconfig = stringFlag(values, 'kubeconfig');
    const context = stringFlag(values, 'context');
    process.stdout.write(`${renderCurl(request, creds, data, { ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}) })}\n`);
    if (process.stderr.isTTY) {
      const validity = creds.scheme === 'planasonix' || creds.scheme === 'standard-webhooks' ? `; valid for ${creds.tolerance}` : '';
      process.stderr.write(`# ${creds.scheme} signature for ${namespace}/${name}${validity}\n`);
    }
    return 0;
  });
}
