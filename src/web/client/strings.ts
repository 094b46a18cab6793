/**
 * Every piece of text the client shows, by language: English and French, with the same keys (the `Strings`
 * type makes a missing or extra key a type error). No DOM here, so tests can import it directly.
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
  meeting: 'Meeting',
  meetingStarted: 'This group is a meeting: your camera and microphone are on.',
  smallGroups: 'Small groups',
  breakoutName: 'Small group name',
  createBreakout: 'Create small group',
  listBreakouts: 'List small groups',
  noBreakouts: 'No small group is live.',
  breakoutInvite: (url: string) => `Join the small group: ${url}`,
  backToMain: (parent: string) => `Back to ${parent}`,
  landingHeading: 'Groups',
  publicGroups: 'Public groups',
  noPublicGroups: 'There are no public groups.',
  groupName: 'Group name',
  go: 'Go',
  locked: 'locked',
  clients: (n: number) => (n === 1 ? '1 person' : `${n} people`),
  loadFailed: 'Could not load the list of groups.',
  protocolTooOld: 'The server does not speak protocol version 2.',
};

export type Strings = typeof en;

const fr: Strings = {
  appName: 'Lectern',
  stage: 'Cours',
  loginHeading: 'Rejoindre le groupe',
  username: "Nom d'utilisateur",
  password: 'Mot de passe',
  join: 'Rejoindre',
  leave: 'Quitter',
  statusConnecting: 'Connexion…',
  statusConnected: 'Connecté',
  statusReconnecting: 'Connexion perdue, reconnexion…',
  statusDisconnected: 'Déconnecté',
  statusFailed: (reason: string) => `Échec : ${reason}`,
  joinedAs: (user: string) => `Connecté en tant que ${user || '(anonyme)'}`,
  kicked: (by: string, why: string) => `Vous avez été expulsé${by ? ` par ${by}` : ''}${why ? ` : ${why}` : ''}`,
  needUsername: "Veuillez choisir un nom d'utilisateur.",
  camera: 'Caméra',
  microphone: 'Micro',
  shareScreen: "Partager l'écran",
  raiseHand: 'Lever la main',
  lowerHand: 'Baisser la main',
  handRaised: 'main levée',
  clickToUnmute: 'Cliquer pour activer le son',
  watching: (n: number) => (n <= 1 ? `${n} personne regarde` : `${n} personnes regardent`),
  preview: 'Votre aperçu',
  screenPreview: 'Votre écran',
  mainVideo: (user: string) => `Vidéo de ${user}`,
  sideVideo: (user: string) => `Caméra de ${user}`,
  nothingShown: "Personne ne présente pour l'instant.",
  chatHeading: 'Discussion',
  chatLog: 'Messages de la discussion',
  message: 'Message',
  send: 'Envoyer',
  participants: 'Participants',
  you: '(vous)',
  presenter: 'présentateur',
  deviceError: (what: string, why: string) => `Impossible de démarrer : ${what} (${why})`,
  serverError: (msg: string) => `Serveur : ${msg}`,
  serverWarning: (msg: string) => `Attention : ${msg}`,
  meeting: 'Réunion',
  meetingStarted: 'Ce groupe est une réunion : votre caméra et votre micro sont allumés.',
  smallGroups: 'Petits groupes',
  breakoutName: 'Nom du petit groupe',
  createBreakout: 'Créer un petit groupe',
  listBreakouts: 'Lister les petits groupes',
  noBreakouts: "Aucun petit groupe n'est actif.",
  breakoutInvite: (url: string) => `Rejoignez le petit groupe : ${url}`,
  backToMain: (parent: string) => `Retour à ${parent}`,
  landingHeading: 'Groupes',
  publicGroups: 'Groupes publics',
  noPublicGroups: "Il n'y a aucun groupe public.",
  groupName: 'Nom du groupe',
  go: 'Aller',
  locked: 'verrouillé',
  clients: (n: number) => (n <= 1 ? `${n} personne` : `${n} personnes`),
  loadFailed: "Impossible de charger la liste des groupes.",
  protocolTooOld: 'Le serveur ne parle pas la version 2 du protocole.',
};

/** Every language the client speaks, by its primary language subtag. */
export const tables: Readonly<Record<string, Strings>> = { en, fr };

/** The language to use: `?lang=` if it names one we have, else the first of the browser's languages we have. */
export function chooseLanguage(query: string | null, browserLanguages: readonly string[]): string {
  for (const lang of [query ?? '', ...browserLanguages]) {
    const primary = lang.toLowerCase().split('-')[0] ?? '';
    if (primary in tables) return primary;
  }
  return 'en';
}

/** The table for a language tag ("fr", "fr-CA"...), falling back to English. */
export function pickStrings(lang: string): Strings {
  return tables[lang.toLowerCase().split('-')[0] ?? 'en'] ?? en;
}
