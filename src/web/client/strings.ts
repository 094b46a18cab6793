/**
 * Every piece of text the client shows, by language. English only for now; a French table will sit beside
 * it with the same keys (the `Strings` type makes a missing key a type error).
 */
const en = {
  appName: 'Lectern',
  stage: 'Lecture',
  loginHeading: 'Join the group',
  username: 'Username',
  password: 'Password',
  join: 'Join',
  leave: 'Leave',
  statusConnecting: 'Connecting…',
  statusConnected: 'Connected',
  statusReconnecting: 'Connection lost, reconnecting…',
  statusDisconnected: 'Disconnected',
  statusFailed: (reason: string) => `Failed: ${reason}`,
  joinedAs: (user: string) => `Joined as ${user || '(anonymous)'}`,
  kicked: (by: string, why: string) => `You were kicked${by ? ` by ${by}` : ''}${why ? `: ${why}` : ''}`,
  needUsername: 'Please choose a username.',
  camera: 'Camera',
  microphone: 'Microphone',
  shareScreen: 'Share screen',
  raiseHand: 'Raise hand',
  lowerHand: 'Lower hand',
  handRaised: 'hand raised',
  clickToUnmute: 'Click to unmute',
  watching: (n: number) => (n === 1 ? '1 person watching' : `${n} people watching`),
  preview: 'Your preview',
  screenPreview: 'Your screen',
  mainVideo: (user: string) => `Video from ${user}`,
  sideVideo: (user: string) => `Camera of ${user}`,
  nothingShown: 'Nobody is presenting yet.',
  chatHeading: 'Chat',
  chatLog: 'Chat messages',
  message: 'Message',
  send: 'Send',
  participants: 'Participants',
  you: '(you)',
  presenter: 'presenter',
  deviceError: (what: string, why: string) => `Could not start the ${what}: ${why}`,
  serverError: (msg: string) => `Server: ${msg}`,
  serverWarning: (msg: string) => `Warning: ${msg}`,
  protocolTooOld: 'The server does not speak protocol version 2.',
};

export type Strings = typeof en;

const tables: Record<string, Strings> = { en };

/** The table for the page's language (document.documentElement.lang), falling back to English. */
export function pickStrings(lang: string): Strings {
  return tables[lang.toLowerCase().split('-')[0] ?? 'en'] ?? en;
}
