import { type Auth, type AuthOptions, createAuth } from '../auth.ts';
import { SettingsError } from '../errors.ts';
import { type CliConfig, SETTING_ENV, readConfig } from './config.ts';
import { resolveSigningKey } from './signing-key.ts';

/** Thrown for a problem the operator must fix: printed as one line, exit code 1. */
export class CliError extends Error {}

/** Reads the environment and opens the library; configuration problems become one-line {@link CliError}s. */
export async function openAuth(options: {
  createKey: boolean;
  log?: (line: string) => void;
  /** The server logs every audit line as JSON. */
  auditLog?: AuthOptions['auditLog'];
  /** Count login throttling in Redis when `REDIS_URL` is set (the server; commands log no one in). */
  throttle?: boolean;
}): Promise<{
  auth: Auth;
  config: CliConfig;
}> {
  let config: CliConfig | undefined;
  try {
    config = readConfig();
    const { key, note } = resolveSigningKey(config.signingKey, config.databaseUrl, options.createKey, config.algorithm);
    if (note) options.log?.(note);
    const auth = await createAuth({
      settings: { ...config.settings, signingKey: key },
      database: config.databaseUrl,
      ...(config.busUrl ? { bus: config.busUrl } : {}),
      ...(config.busChannel ? { busChannel: config.busChannel } : {}),
      ...(options.throttle && config.throttleUrl ? { throttle: config.throttleUrl } : {}),
      ...(options.auditLog ? { auditLog: options.auditLog } : {}),
    });
    return { auth, config };
  } catch (error) {
    if (error instanceof SettingsError) {
      const keyEnv = config?.keyEnv as Record<string, string> | undefined;
      const env = keyEnv?.[error.setting] ?? SETTING_ENV[error.setting];
      throw new CliError(env ? error.message.replace(`"${error.setting}"`, `"${env}"`) : error.message);
    }
    throw error;
  }
}
