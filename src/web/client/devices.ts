/**
 * The presenter's device and quality choices: which camera and microphone (from enumerateDevices, whose
 * labels the browser reveals once the page may use a device) and a send quality, Galène's idea of capping the
 * video we send at 150, 300 or 700 kbit/s, or not at all.
 */
import { h } from './dom.js';
import type { Strings } from './strings.js';

/** The send qualities, by the value of their option, in bits per second (undefined: no cap). */
export const QUALITIES: Readonly<Record<string, number | undefined>> = {
  lowest: 150_000,
  low: 300_000,
  normal: 700_000,
  unlimited: undefined,
};

export interface DeviceEvents {
  device(kind: 'camera' | 'microphone', deviceId: string): void;
  quality(bps: number | undefined): void;
}

export class DeviceControls {
  readonly el: HTMLElement;
  readonly camera: HTMLSelectElement;
  readonly microphone: HTMLSelectElement;
  readonly quality: HTMLSelectElement;

  constructor(
    private readonly t: Strings,
    ev: DeviceEvents,
  ) {
    const select = (id: string, label: string): [HTMLElement, HTMLSelectElement] => {
      const s = h('select', { id, name: id });
      return [h('div', { class: 'field' }, h('label', { for: id }, label), s), s];
    };
    const [camField, camera] = select('camera-device', t.cameraDevice);
    const [micField, microphone] = select('microphone-device', t.microphoneDevice);
    const [qualityField, quality] = select('send-quality', t.sendQuality);
    const names: Record<string, string> = {
      lowest: t.qualityLowest,
      low: t.qualityLow,
      normal: t.qualityNormal,
      unlimited: t.qualityUnlimited,
    };
    quality.append(...Object.keys(QUALITIES).map((v) => h('option', { value: v }, names[v] ?? v)));
    quality.value = 'unlimited';
    this.camera = camera;
    this.microphone = microphone;
    this.quality = quality;
    this.el = h('div', { class: 'devices' }, camField, micField, qualityField);
    camera.addEventListener('change', () => ev.device('camera', camera.value));
    microphone.addEventListener('change', () => ev.device('microphone', microphone.value));
    quality.addEventListener('change', () => ev.quality(QUALITIES[quality.value]));
    navigator.mediaDevices?.addEventListener?.('devicechange', () => void this.refresh());
  }

  /** Refills both device lists, keeping each one's choice when the device is still there. */
  async refresh(): Promise<void> {
    let devices: MediaDeviceInfo[] = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return;
    }
    this.fill(this.camera, devices.filter((d) => d.kind === 'videoinput'), this.t.camera);
    this.fill(this.microphone, devices.filter((d) => d.kind === 'audioinput'), this.t.microphone);
  }

  private fill(select: HTMLSelectElement, devices: MediaDeviceInfo[], kind: string): void {
    const chosen = select.value;
    const options = [h('option', { value: '' }, this.t.defaultDevice)];
    devices.forEach((d, i) => {
      // Without permission yet, ids and labels are empty: such entries only say that a device exists.
      if (!d.deviceId || d.deviceId === 'default') return;
      options.push(h('option', { value: d.deviceId }, d.label || this.t.deviceN(kind, i + 1)));
    });
    select.replaceChildren(...options);
    select.value = options.some((o) => o.value === chosen) ? chosen : '';
  }
}
