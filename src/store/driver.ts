import { SettingsError } from '../errors.ts';

/** Loads an optional database driver, with an error that says what to install when it is missing. */
export async function loadDriver<T>(name: string, purpose: string, setting = 'DATABASE_URL'): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new SettingsError(setting, `${purpose} needs the "${name}" package: npm install ${name}`);
    }
    throw error;
  }
}
