/** The presenter's own devices: camera and microphone tracks, toggled one at a time, and the screen share. */
export class LocalMedia {
  camera: MediaStreamTrack | undefined;
  microphone: MediaStreamTrack | undefined;
  screen: MediaStream | undefined;
  /** The chosen device of each kind ('' for the browser's default). */
  readonly deviceId = { camera: '', microphone: '' };

  /** Turns the camera or microphone on or off; resolves to the new state. */
  async toggle(kind: 'camera' | 'microphone'): Promise<boolean> {
    const current = this[kind];
    if (current) {
      current.stop();
      this[kind] = undefined;
      return false;
    }
    this[kind] = await this.open(kind);
    return true;
  }

  /** Chooses a device; if that kind is on, swaps in a track from the new device. True when a track changed. */
  async choose(kind: 'camera' | 'microphone', deviceId: string): Promise<boolean> {
    this.deviceId[kind] = deviceId;
    const current = this[kind];
    if (!current || (deviceId && current.getSettings().deviceId === deviceId)) return false;
    const track = await this.open(kind);
    current.stop();
    this[kind] = track;
    return true;
  }

  private async open(kind: 'camera' | 'microphone'): Promise<MediaStreamTrack> {
    const id = this.deviceId[kind];
    const constraints: MediaTrackConstraints | boolean = id ? { deviceId: { exact: id } } : true;
    const stream = await navigator.mediaDevices.getUserMedia(kind === 'camera' ? { video: constraints } : { audio: constraints });
    const track = stream.getTracks()[0];
    if (!track) throw new Error('no track');
    return track;
  }

  /** The camera stream to publish: the camera and microphone tracks that are on (possibly none). */
  cameraStream(): MediaStream {
    return new MediaStream([this.camera, this.microphone].filter((t): t is MediaStreamTrack => !!t));
  }

  /** Starts a screen share (the browser asks which screen); `onEnded` runs when the browser's own stop ends it. */
  async startScreen(onEnded: () => void): Promise<MediaStream> {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    for (const t of stream.getTracks()) {
      // Slides and text: keep the resolution and drop frames when bandwidth is short.
      if (t.kind === 'video') t.contentHint = 'detail';
      t.addEventListener('ended', onEnded);
    }
    this.screen = stream;
    return stream;
  }

  stopScreen(): void {
    for (const t of this.screen?.getTracks() ?? []) t.stop();
    this.screen = undefined;
  }

  stopAll(): void {
    this.camera?.stop();
    this.microphone?.stop();
    this.camera = this.microphone = undefined;
    this.stopScreen();
  }
}
